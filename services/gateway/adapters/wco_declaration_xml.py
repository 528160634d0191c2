"""Read a WCO Data Model declaration (XML, DEC-DMS as the UK CDS uses it) into the contract's Declaration.

Pure and safe (adapters/safe_xml.py): size, encoding, DTDs, entities, external references, depth and element
count are checked before anything expands; every error names the element path and line.
"""

from pydantic import ValidationError

from services.contract.declaration import Declaration
from services.gateway.adapters.safe_xml import UnsafeXml, parse
from services.gateway.adapters.wco_fields import DEC, DeclarationXmlError, Element, FieldReader, check_counts

METADATA = "urn:wco:datamodel:WCO:DocumentMetaData-DMS:2"

__all__ = ["DeclarationXmlError", "parse_declaration_xml"]


def _tree(data: bytes, *, max_bytes: int, max_depth: int) -> Element:
    try:
        root = parse(data, node=Element, kind="a declaration", max_bytes=max_bytes, max_depth=max_depth)
    except UnsafeXml as refused:
        raise DeclarationXmlError(str(refused), too_large=refused.too_large) from None
    _name_paths(root)
    return root


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
    root = _tree(data, max_bytes=max_bytes, max_depth=max_depth)
    element = _declaration_element(root)
    reader = FieldReader()
    fields = reader.declaration(element)
    try:
        declaration = Declaration.model_validate(fields)
    except ValidationError as error:
        raise _invalid(reader, error) from None
    check_counts(element, declaration)
    return declaration
