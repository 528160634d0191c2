"""Read a WCO Data Model declaration (XML, DEC-DMS as the UK CDS uses it) into the contract's Declaration.

Pure and safe: the size is bounded before parsing, DOCTYPE, entity declarations and external references are
refused before anything expands, nesting is bounded, and every error names the element path and line.
"""

from typing import NoReturn
from xml.parsers import expat

from pydantic import ValidationError

from services.contract.declaration import Declaration
from services.gateway.adapters.wco_fields import DEC, DeclarationXmlError, Element, FieldReader, check_counts

METADATA = "urn:wco:datamodel:WCO:DocumentMetaData-DMS:2"

__all__ = ["DeclarationXmlError", "parse_declaration_xml"]


class _Refused(Exception):
    """Raised from inside the expat callbacks; turned into a DeclarationXmlError with the position."""


def _tree(data: bytes, max_depth: int) -> Element:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    stack: list[Element] = []
    roots: list[Element] = []

    def refuse(what: str) -> NoReturn:
        raise _Refused(f"{what} is refused: a declaration needs no DTD, entity or external reference")

    def start(tag: str, attributes: dict[str, str]) -> None:
        if len(stack) >= max_depth:
            raise _Refused(f"elements are nested deeper than {max_depth} levels")
        namespace, _, name = tag.rpartition("}")
        element = Element(namespace, name, parser.CurrentLineNumber, attributes)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def characters(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    parser.StartDoctypeDeclHandler = lambda *_: refuse("a DOCTYPE")
    parser.EntityDeclHandler = lambda *_: refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = lambda *_: refuse("an unparsed entity declaration")
    parser.NotationDeclHandler = lambda *_: refuse("a notation declaration")
    parser.ExternalEntityRefHandler = lambda *_: refuse("an external entity reference")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except _Refused as refused:
        raise DeclarationXmlError(f"line {parser.CurrentLineNumber}: {refused}") from None
    except expat.ExpatError as error:
        raise DeclarationXmlError(f"not well-formed XML: {error}") from None
    _name_paths(roots[0])
    return roots[0]


def _name_paths(root: Element) -> None:
    """Give each element its path from the root; repeated siblings get their position, as in XPath."""
    root.path = root.name
    pending = [root]
    while pending:
        element = pending.pop()
        counts: dict[tuple[str, str], int] = {}
        for child in element.children:
            counts[child.namespace, child.name] = counts.get((child.namespace, child.name), 0) + 1
        seen: dict[tuple[str, str], int] = {}
        for child in element.children:
            key = (child.namespace, child.name)
            seen[key] = seen.get(key, 0) + 1
            child.path = f"{element.path}/{child.name}" + (f"[{seen[key]}]" if counts[key] > 1 else "")
            pending.append(child)


def _declaration_element(root: Element) -> Element:
    if (root.namespace, root.name) == (DEC, "Declaration"):
        return root
    if (root.namespace, root.name) == (METADATA, "MetaData"):
        type_name = root.first("WCOTypeName", METADATA)
        if type_name is not None and type_name.text != "DEC":
            raise DeclarationXmlError(
                f"{type_name.where}: WCOTypeName is {type_name.text!r}; a declaration is DEC", path=type_name.path
            )
        found = root.all("Declaration")
        if len(found) != 1:
            raise DeclarationXmlError(
                f"{root.where}: MetaData holds {len(found)} Declaration elements in namespace {DEC}; expected one",
                path=root.path,
            )
        return found[0]
    raise DeclarationXmlError(
        f"{root.where}: the root element is {root.name!r} in namespace {root.namespace or '(none)'!r}; expected "
        f"MetaData ({METADATA}) holding a Declaration, or a Declaration ({DEC})",
        path=root.path,
    )


def _invalid(reader: FieldReader, error: ValidationError) -> DeclarationXmlError:
    """One message naming each bad value's element, line and the model field it would fill."""
    problems = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        path, line = reader.locate(loc)
        value = detail.get("input")
        shown = f" (found {value!r})" if isinstance(value, str | int) else ""
        field_path = ".".join(str(part) for part in loc) or "declaration"
        problems.append(f"{path} (line {line}): {detail['msg']}{shown} [{field_path}]")
    return DeclarationXmlError("; ".join(problems), path=reader.locate(tuple(error.errors()[0]["loc"]))[0])


def parse_declaration_xml(data: bytes, *, max_bytes: int = 5_000_000, max_depth: int = 64) -> Declaration:
    """The Declaration a WCO DM declaration document states; DeclarationXmlError says what is wrong and where."""
    if len(data) > max_bytes:
        raise DeclarationXmlError(
            f"the document is {len(data)} bytes; at most {max_bytes} are accepted", too_large=True
        )
    root = _tree(data, max_depth)
    element = _declaration_element(root)
    reader = FieldReader()
    fields = reader.declaration(element)
    try:
        declaration = Declaration.model_validate(fields)
    except ValidationError as error:
        raise _invalid(reader, error) from None
    check_counts(element, declaration)
    return declaration
