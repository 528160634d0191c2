"""Parsing XML from outside safely, for every reader of the gateway (declarations, certificates).

Before anything can expand or reach out: the size is bounded, only UTF-8 is read, and any DOCTYPE, entity
or notation declaration or external reference is refused. While parsing: depth and element count are
bounded. Errors name the line, and an unbound namespace prefix by name.
"""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, NoReturn, ParamSpec, TypeVar
from xml.parsers import expat


class XmlRefused(Exception):
    """A document refused by a reader: the message says what is wrong and where; `path` locates the element,
    and `too_large` marks a size refusal (HTTP 413 rather than 422)."""

    def __init__(self, message: str, *, path: str | None = None, too_large: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.too_large = too_large


class UnsafeXml(XmlRefused):
    """Refused by the safe parser itself, before any reader looked at the content."""


# The richest real line item seen has 131 elements, so 999 of them make some 131,000: this bounds the tree's memory
# (about 300 bytes an element).
MAX_ELEMENTS = 200_000
MAX_NAME = 200  # characters of an element's local name (the longest in SPS and WCO is under 60)
MAX_ATTRIBUTES = 64  # on one element (SPS and WCO elements carry at most a few)
ON_THE_LOOP_BYTES = 32 * 1024
"""Documents up to this size are read on the event loop, larger ones in a worker thread (`read_in_turn`)."""
UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
XML_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*([\"'])([^\"']*)\1")
_EXPLAINED = {
    expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]: "the document ends before its root element is closed "
    "(empty or truncated?)",
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN]: "the document ends inside a tag (truncated?)",
    expat.errors.codes[expat.errors.XML_ERROR_PARTIAL_CHAR]: "the document ends inside a character (truncated?)",
    expat.errors.codes[expat.errors.XML_ERROR_SYNTAX]: "this is not XML",
    expat.errors.codes[expat.errors.XML_ERROR_UNDEFINED_ENTITY]: "an entity that is not one of XML's five",
}


T = TypeVar("T", bound="Node[Any]")


@dataclass(slots=True, eq=False)
class Node(Generic[T]):
    """One element of a parsed document: namespace URI, local name, where it is, its attributes, text and children.

    Each reader subclasses it with the lookups its vocabulary needs."""

    namespace: str
    name: str
    line: int
    start: int  # byte offsets of its start tag and of the end of its end tag, to cut it out of the document
    attributes: dict[str, str]
    parent: T | None = field(repr=False)
    children: list[T] = field(default_factory=list, repr=False)
    raw_text: str = ""
    end: int = 0
    declarations: list[tuple[str | None, str]] | None = None  # the xmlns declarations on its start tag


N = TypeVar("N", bound="Node[Any]")


class _Refused(Exception):
    """Raised inside the expat callbacks; turned into an UnsafeXml with the line."""


def _refuse_encoding(data: bytes) -> None:
    """Only UTF-8 (or its ASCII subset) is read: what the Hub sends, and what the claim check stores."""
    if data.startswith((b"\xfe\xff", b"\xff\xfe")) or data[:4].count(b"\x00") >= 2:
        raise UnsafeXml("the document is UTF-16 or UTF-32; send it encoded in UTF-8")
    declared = XML_DECLARATION.match(data[:500])
    if declared and declared.group(2).decode("ascii", "replace").lower() not in UTF8_NAMES:
        name = declared.group(2).decode("ascii", "replace")
        raise UnsafeXml(f"line 1: the document declares encoding {name!r}; only UTF-8 is accepted")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1)
        raise UnsafeXml(
            f"line {line}, column {column}: byte 0x{data[error.start]:02X} is not UTF-8; the document must be UTF-8 "
            "text (without an encoding declaration, XML means UTF-8)"
        ) from None


def _unbound_prefix(data: bytes, index: int, in_scope: set[str]) -> str:
    """The prefix a start tag uses without declaring it: expat says only that there is one."""
    tag = data[index : data.find(b">", index) + 1].decode("utf-8", "replace")
    declared = set(re.findall(r"\sxmlns:([\w.-]+)\s*=", tag)) | in_scope | {"xml"}
    used = re.findall(r"^<([\w.-]+):|\s([\w.-]+):[\w.-]+\s*=", tag)
    prefixes = [prefix for pair in used for prefix in pair if prefix and prefix != "xmlns"]
    return next((prefix for prefix in prefixes if prefix not in declared), "")


P = ParamSpec("P")
R = TypeVar("R")


async def read_in_turn(
    reader: Callable[Concatenate[bytes, P], R], data: bytes, *args: P.args, **options: P.kwargs
) -> R:
    """`reader(data, ...)` on the event loop for a document of at most ON_THE_LOOP_BYTES, in a worker thread for a
    larger one.

    A 2 kB certificate takes about a quarter of a millisecond to read, less than handing it to a thread costs: the
    thread then takes the interpreter in turns with the loop, which waits for it at each system call. A megabyte
    takes tens of milliseconds and more, which the loop would spend serving no one."""
    if len(data) <= ON_THE_LOOP_BYTES:
        return reader(data, *args, **options)
    return await asyncio.to_thread(reader, data, *args, **options)


def parse(data: bytes, *, node: type[N], kind: str, max_bytes: int, max_depth: int) -> N:
    """The element tree of a document, refusing what could expand, reach out or exhaust memory.

    `node` is the reader's Node subclass; `kind` names the document in messages ("an ePhyto").
    """
    if len(data) > max_bytes:
        raise UnsafeXml(f"the document is {len(data)} bytes; at most {max_bytes} are accepted", too_large=True)
    _refuse_encoding(data)
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    stack: list[N] = []
    roots: list[N] = []
    pending: list[tuple[str | None, str]] = []  # namespace declarations waiting for their element
    count = 0

    def refuse(what: str) -> NoReturn:
        raise _Refused(f"{what} is refused: {kind} needs no DTD, entity or external reference")

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if len(stack) >= max_depth:
            raise _Refused(f"elements are nested deeper than {max_depth} levels")
        if count > MAX_ELEMENTS:
            raise _Refused(f"the document has more than {MAX_ELEMENTS} elements")
        namespace, _, name = tag.rpartition("}")
        if len(name) > MAX_NAME:
            raise _Refused(f"an element name is {len(name)} characters long; at most {MAX_NAME} are accepted")
        if len(attributes) > MAX_ATTRIBUTES:
            raise _Refused(f"an element has {len(attributes)} attributes; at most {MAX_ATTRIBUTES} are accepted")
        parent = stack[-1] if stack else None
        element = node(namespace, name, parser.CurrentLineNumber, parser.CurrentByteIndex, attributes, parent)
        if pending:
            element.declarations = pending.copy()
            pending.clear()
        if parent is not None:
            parent.children.append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        element = stack.pop()
        index = parser.CurrentByteIndex  # at "</" of an end tag, after an empty element's tag
        element.end = data.index(b">", index) + 1 if data.startswith(b"</", index) else index

    def characters(text: str) -> None:
        if stack:
            stack[-1].raw_text += text

    parser.StartDoctypeDeclHandler = lambda *_: refuse("a DOCTYPE")
    parser.EntityDeclHandler = lambda *_: refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = lambda *_: refuse("an unparsed entity declaration")
    parser.NotationDeclHandler = lambda *_: refuse("a notation declaration")
    parser.ExternalEntityRefHandler = lambda *_: refuse("an external entity reference")
    parser.StartNamespaceDeclHandler = lambda prefix, uri: pending.append((prefix, uri))
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except _Refused as refused:
        raise UnsafeXml(f"line {parser.CurrentLineNumber}: {refused}") from None
    except expat.ExpatError as error:
        message = expat.errors.messages[error.code]
        if message == expat.errors.XML_ERROR_UNBOUND_PREFIX:
            declared = [pair for element in stack for pair in element.declarations or ()] + pending
            in_scope = {prefix for prefix, _ in declared if prefix}
            prefix = _unbound_prefix(data, parser.ErrorByteIndex, in_scope)
            message = f"unbound prefix {prefix!r}: it is used but no xmlns:{prefix} declares its namespace"
        explained = _EXPLAINED.get(error.code)
        raise UnsafeXml(
            f"line {error.lineno}, column {error.offset}: not well-formed XML: {message}"
            + (f": {explained}" if explained else "")
        ) from None
    return roots[0]
