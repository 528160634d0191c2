"""Read the business fields of a UN/CEFACT SPSCertificate (ePhyto) element tree into the contract's Certificate.

Strict on what the border decides on (number, type, status, countries, parties, line items, origins), lenient on
the rest: an empty element counts as absent, but a value that is present must be well formed. Every error names the
element path (local names, XPath-like) and line.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from services.contract.certificate import Certificate
from services.gateway.adapters.safe_xml import Node, XmlRefused

SPS = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"
# The vocabulary puts the two top children in the SPSCertificate namespace, dates in UDT and all the rest in RAM.
_NAMESPACES = {"SPSExchangedDocument": SPS, "SPSConsignment": SPS, "DateTimeString": UDT}

PHYTOSANITARY_TYPES = {"851": "phytosanitary certificate", "657": "phytosanitary certificate for re-export"}
STATUSES = {"70": "issued", "40": "withdrawn"}
_OTHER_TYPES = {"636": "a CHED, the EU's import control document, which points at a phytosanitary certificate"}
# The HS ClassCode fills commodity_code only at a length the contract's CommodityCode knows (HS6, CN8, TARIC10).
_COMMODITY_CODE_LENGTHS = {6, 8, 10}
# ISPM 12's unit of weight; the one sample that omits unitCode on NetWeightMeasure means kilograms.
DEFAULT_WEIGHT_UNIT = "KGM"
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*")
_ADDRESS_LINES = ("LineOne", "LineTwo", "LineThree", "LineFour", "LineFive")

Loc = tuple[str | int, ...]


class CertificateXmlError(XmlRefused):
    """An ePhyto document refused: the message says what is wrong, where and, if possible, what would be right."""


@dataclass(slots=True, eq=False)
class Element(Node["Element"]):
    """An element of an ePhyto: lookups by local name in the SPS vocabulary's namespaces."""

    @property
    def text(self) -> str:
        """The text with runs of white space (line breaks in descriptions) made one space."""
        return " ".join(self.raw_text.split())

    def all(self, name: str) -> list["Element"]:
        namespace = _NAMESPACES.get(name, RAM)
        return [child for child in self.children if child.name == name and child.namespace == namespace]

    def first(self, *names: str) -> "Element | None":
        element: Element | None = self
        for name in names:
            found = element.all(name) if element is not None else []
            element = found[0] if found else None
        return element

    def path(self, base: "Element | None" = None) -> str:
        """Local names from below `base` down to this element; repeated siblings get their position, as in XPath."""
        parts = []
        node: Element | None = self
        while node is not None and node is not base:
            label = node.name
            if node.parent is not None:
                same = [c for c in node.parent.children if c.name == node.name and c.namespace == node.namespace]
                if len(same) > 1:
                    label += f"[{next(i for i, c in enumerate(same, 1) if c is node)}]"
            parts.append(label)
            node = node.parent
        return "/".join(reversed(parts)) or self.name


def parse_date_time(text: str) -> tuple[datetime | None, date | None]:
    """An ISO 8601 value as ePhytos give it: the instant only when a zone is stated, the date whenever there is one."""
    if "T" not in text and " " not in text:
        return None, date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo is not None else None), moment.date()


def country_code(text: str) -> str:
    """An ISO 3166 alpha-2 code in capitals ("ar" is AR); anything else as written, for the model to refuse."""
    return text.upper() if len(text) == 2 else text


def preferred(elements: list[Element]) -> Element | None:
    """Of the same text in several languages, the English one, else one with no language, else the first."""
    given = [element for element in elements if element.text]
    languages = [(element.attributes.get("languageID") or "").lower().split("-")[0] for element in given]
    for wanted in ("en", ""):
        if wanted in languages:
            return given[languages.index(wanted)]
    return given[0] if given else None


def measure(element: Element | None) -> str | None:
    """A measure as text with its unit: "32.0000 CEL"."""
    if element is None or not element.text:
        return None
    return " ".join(filter(None, (element.text, element.attributes.get("unitCode"))))


class CertificateReader:
    """Builds the Certificate's fields from an SPSCertificate element, remembering where each value came from."""

    def __init__(self, root: Element, context: str = "") -> None:
        self.root = root
        self.context = context  # where the certificate sits, for an embedded document (e.g. "in Envelope/Content")
        self.origins: dict[Loc, Element] = {}

    def path(self, element: Element, *missing: str) -> str:
        path = "/".join([element.path(self.root) if element is not self.root else "", *missing]).strip("/")
        return path or self.root.name

    def where(self, element: Element, *missing: str) -> str:
        context = f", {self.context}" if self.context else ""
        return f"{self.path(element, *missing)} (line {element.line}{context})"

    def fail(self, element: Element, message: str, *missing: str) -> CertificateXmlError:
        return CertificateXmlError(f"{self.where(element, *missing)}: {message}", path=self.path(element, *missing))

    def note(self, loc: Loc, element: Element | None) -> None:
        if element is not None:
            self.origins[loc] = element

    def value(self, parent: Element | None, *names: str, loc: Loc | None = None) -> str | None:
        """The text at a path below parent, in the preferred language if it repeats; None when absent or empty."""
        holder = parent.first(*names[:-1]) if parent is not None else None
        element = preferred(holder.all(names[-1])) if holder is not None else None
        if loc is not None:
            self.note(loc, element)
        return element.text if element is not None else None

    def values(self, element: Element, loc: Loc, **paths: str) -> dict[str, Any]:
        """Each field's text at its path ("A/B") below the element."""
        return {name: self.value(element, *path.split("/"), loc=(*loc, name)) for name, path in paths.items()}

    def records(
        self, parent: Element, name: str, loc: Loc, read: Callable[[Element, Loc], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """What `read` finds in each `name` child, leaving out the children where it finds nothing."""
        found: list[dict[str, Any]] = []
        for element in parent.all(name):
            fields = read(element, (*loc, len(found)))
            if any(fields.values()):
                self.origins.setdefault((*loc, len(found)), element)
                found.append(fields)
        return found

    def ids(self, parent: Element, name: str, loc: Loc) -> list[str]:
        """The IDs of the `name` children (TransitSPSCountry, OriginSPSCountry, AffixedSPSSeal...) that have one."""
        found = self.records(parent, name, loc, lambda element, here: {"id": self.value(element, "ID", loc=here)})
        return [record["id"] for record in found]

    def require(self, parent: Element, *names: str, loc: Loc, what: str) -> str:
        found = self.value(parent, *names, loc=loc)
        if found is None:
            raise self.missing(parent, names, what)
        return found

    def missing(self, parent: Element, names: tuple[str, ...], what: str) -> CertificateXmlError:
        """Name the first element of the chain that is absent or empty, at its parent's line."""
        for depth, name in enumerate(names):
            below = parent.all(name)
            if not below:
                elsewhere = [child.namespace for child in parent.children if child.name == name]
                expected = _NAMESPACES.get(name, RAM)
                hint = f"; found {name} in namespace {elsewhere[0]!r}, expected {expected!r}" if elsewhere else ""
                return self.fail(parent, f"required: {what}{hint}", *names[depth:])
            parent = below[0]
        return self.fail(parent, f"required: {what}; the element is empty")

    def certificate(self) -> dict[str, Any]:
        document = self.root.first("SPSExchangedDocument")
        consignment = self.root.first("SPSConsignment")
        if document is None or consignment is None:
            part = "SPSConsignment" if document else "SPSExchangedDocument"
            raise self.missing(self.root, (part,), "the document and consignment parts of the certificate")
        fields: dict[str, Any] = self.codes(document)
        fields["number"] = self.require(document, "ID", loc=("number",), what="the certificate number")
        fields["issued_at"], fields["issued_on"] = self.moment(document, "IssueDateTime", "DateTimeString")
        fields["issuer_name"] = self.value(document, "IssuerSPSParty", "Name", loc=("issuer_name",))
        fields["notes"] = self.notes(document, "IncludedSPSNote", ("notes",))
        for subject, name in (("ADRPN", "replaced_certificate_number"), ("ADRPR", "replacement_reason")):
            index = next((i for i, note in enumerate(fields["notes"]) if note["subject"] == subject), None)
            if index is not None:  # the first such note
                fields[name] = fields["notes"][index]["content"]
                self.note((name,), self.origins[("notes", index)])
        fields["signatory"] = self.signatory(document.first("SignatorySPSAuthentication"))
        fields.update(self.consignment(consignment))
        return fields

    def codes(self, document: Element) -> dict[str, str]:
        """TypeCode and StatusCode: only a phytosanitary certificate, issued or withdrawn, is read further."""
        kind = self.require(document, "TypeCode", loc=("type",), what="the document type, 851 or 657")
        if kind not in PHYTOSANITARY_TYPES:
            known = f": {_OTHER_TYPES[kind]}" if kind in _OTHER_TYPES else ""
            raise self.fail(
                self.origins[("type",)],
                f"not a phytosanitary certificate (type {kind}){known}; expected 851 (phytosanitary certificate) "
                "or 657 (phytosanitary certificate for re-export)",
            )
        status = self.require(document, "StatusCode", loc=("status",), what="the status, 70 issued or 40 withdrawn")
        if status not in STATUSES:
            message = f"status code {status!r} is not accepted; expected 70 (issued) or 40 (withdrawn)"
            raise self.fail(self.origins[("status",)], message)
        return {"type": kind, "status": status}

    def moment(self, parent: Element | None, *names: str) -> tuple[datetime | None, date | None]:
        element = parent.first(*names) if parent is not None else None
        if element is None or not element.text:
            return None, None
        try:
            return parse_date_time(element.text)
        except ValueError:
            raise self.fail(
                element,
                f"{element.text!r} is not a date; expected ISO 8601 such as 2016-04-22T13:53:08-03:00, "
                "2022-01-21T15:49:40 or 2021-09-10",
            ) from None

    def notes(self, parent: Element, name: str, loc: Loc) -> list[dict[str, Any]]:
        """One note per Content: the same subject may come in several languages. Notes without content are skipped."""
        found: list[dict[str, Any]] = []
        for note in parent.all(name):
            contents = [content for content in note.all("Content") if content.text]
            subject = self.value(note, "Subject")
            if contents and subject is None:
                raise self.missing(note, ("Subject",), "the subject code of the note, e.g. ADEDL")
            for content in contents:
                self.note((*loc, len(found)), content)
                language = content.attributes.get("languageID", "")  # metadata: a malformed one is left out
                well_formed = _LANGUAGE.fullmatch(language) is not None
                found.append(
                    {"subject": subject, "content": content.text, "language_id": language if well_formed else None}
                )
        return found

    def signatory(self, element: Element | None) -> dict[str, Any] | None:
        if element is None:
            return None
        loc: Loc = ("signatory",)
        self.note(loc, element)
        fields = self.values(
            element, loc, issue_location="IssueSPSLocation/Name", person_name="ProviderSPSParty/SpecifiedSPSPerson/Name"
        )
        fields["signed_at"], fields["signed_on"] = self.moment(element, "ActualDateTime", "DateTimeString")
        fields["clause_ids"] = self.ids(element, "IncludedSPSClause", (*loc, "clause_ids"))
        return fields if any(fields.values()) else None

    def country(self, parent: Element | None, *names: str, loc: Loc) -> str | None:
        found = self.value(parent, *names, loc=loc)
        return country_code(found) if found else None

    def consignment(self, consignment: Element) -> dict[str, Any]:
        issuing = self.country(consignment, "ExportSPSCountry", "ID", loc=("issuing_country",)) or self.country(
            # some issuers state it in the consignor's address only
            consignment.first("ConsignorSPSParty", "SpecifiedSPSAddress"),
            "CountryID",
            loc=("issuing_country",),
        )
        if issuing is None:
            raise self.missing(consignment, ("ExportSPSCountry", "ID"), "the exporting country (ISO 3166 alpha-2)")
        importing = self.country(consignment, "ImportSPSCountry", "ID", loc=("importing_country",))
        if importing is None:
            raise self.missing(consignment, ("ImportSPSCountry", "ID"), "the importing country (ISO 3166 alpha-2)")
        port = consignment.first("UnloadingBaseportSPSLocation")
        return {
            "issuing_country": issuing,
            "importing_country": importing,
            "consignor": self.party(consignment, "ConsignorSPSParty", "the consignor's name", issuing),
            "consignee": self.party(consignment, "ConsigneeSPSParty", "the consignee's name", importing),
            "transit_countries": [
                country_code(code) for code in self.ids(consignment, "TransitSPSCountry", ("transit_countries",))
            ],
            # the UN/LOCODE when there is one, else the name
            "point_of_entry": self.value(port, "ID", loc=("point_of_entry",))
            or self.value(port, "Name", loc=("point_of_entry",)),
            "main_carriages": self.records(
                consignment,
                "MainCarriageSPSTransportMovement",
                ("main_carriages",),
                lambda movement, loc: self.values(
                    movement, loc, mode_code="ModeCode", id="ID", means_name="UsedSPSTransportMeans/Name"
                ),
            ),
            "transport_equipment": self.records(
                consignment,
                "UtilizedSPSTransportEquipment",
                ("transport_equipment",),
                lambda equipment, loc: {
                    **self.values(equipment, loc, id="ID"),
                    "seal_ids": self.ids(equipment, "AffixedSPSSeal", (*loc, "seal_ids")),
                },
            ),
            "line_items": self.line_items(consignment),
        }

    def party(self, consignment: Element, name: str, what: str, country: str) -> dict[str, Any]:
        key = "consignor" if name == "ConsignorSPSParty" else "consignee"
        party = consignment.first(name)
        if party is None:
            raise self.missing(consignment, (name, "Name"), what)
        fields: dict[str, Any] = {"name": self.require(party, "Name", loc=(key, "name"), what=what)}
        for code in party.all("TypeCode"):
            if code.text and code.attributes.get("listName", "").lower() == "nationalregistrationnumber":
                fields["national_registration_number"] = code.text
                self.note((key, "national_registration_number"), code)
        address = party.first("SpecifiedSPSAddress")
        if address is not None:
            lines = [text for line in _ADDRESS_LINES if (text := self.value(address, line))]
            found = self.values(address, (key, "address"), city="CityName", postcode="PostcodeCode")
            if lines or any(found.values()):
                self.note((key, "address"), address)
                # An ePhyto address rarely states its country: the consignor ships from the exporting country,
                # the consignee receives in the importing one.
                stated = self.country(address, "CountryID", loc=(key, "address", "country_code"))
                fields["address"] = {"line": ", ".join(lines) or None, **found, "country_code": stated or country}
        return fields

    def line_items(self, consignment: Element) -> list[dict[str, Any]]:
        items = consignment.all("IncludedSPSConsignmentItem")
        elements = [line for item in items for line in item.all("IncludedSPSTradeLineItem")]
        if not elements:
            names = ("IncludedSPSConsignmentItem", "IncludedSPSTradeLineItem")
            raise self.missing(consignment, names, "at least one line item")
        return [self.line_item(element, index) for index, element in enumerate(elements)]

    def line_item(self, item: Element, index: int) -> dict[str, Any]:
        loc: Loc = ("line_items", index)
        self.note(loc, item)
        fields = self.values(item, loc, description="Description", common_name="CommonName", intended_use="IntendedUse")
        fields["sequence"] = self.value(item, "SequenceNumeric", loc=(*loc, "sequence")) or index
        # The botanical name is what ISPM 12 certifies and what matching compares: a description does not stand in.
        fields["scientific_name"] = self.require(
            item, "ScientificName", loc=(*loc, "scientific_name"), what="the botanical name of the plant or product"
        )
        origins = [country_code(code) for code in self.ids(item, "OriginSPSCountry", (*loc, "origin_countries"))]
        if not origins:
            raise self.missing(item, ("OriginSPSCountry", "ID"), "at least one country of origin (ISO 3166 alpha-2)")
        fields["origin_countries"] = list(dict.fromkeys(origins))
        fields["net_quantity"] = self.weight(item.first("NetWeightMeasure"), (*loc, "net_quantity"))
        fields["classifications"] = self.records(
            item,
            "ApplicableSPSClassification",
            (*loc, "classifications"),
            lambda element, here: self.values(
                element, here, system_name="SystemName", class_code="ClassCode", class_name="ClassName"
            ),
        )
        fields["commodity_code"] = self.commodity_code(fields["classifications"], loc)
        fields["packages"] = self.records(
            item,
            "PhysicalSPSPackage",
            (*loc, "packages"),
            lambda element, here: self.values(
                element, here, level_code="LevelCode", type_code="TypeCode", quantity="ItemQuantity"
            ),
        )
        fields["treatments"] = self.records(item, "AppliedSPSProcess", (*loc, "treatments"), self.treatment)
        fields["additional_information"] = self.notes(
            item, "AdditionalInformationSPSNote", (*loc, "additional_information")
        )
        return fields

    def weight(self, element: Element | None, loc: Loc) -> dict[str, Any] | None:
        if element is None or not element.text:
            return None
        self.note(loc, element)
        try:
            if Decimal(element.text) == 0:  # a zero weight is how some issuers leave it out
                return None
        except InvalidOperation:
            pass  # the model refuses it, naming this element
        return {"value": element.text, "unit": element.attributes.get("unitCode") or DEFAULT_WEIGHT_UNIT}

    def commodity_code(self, classifications: list[dict[str, Any]], loc: Loc) -> str | None:
        """The first HS ClassCode, when its length is one the contract's commodity code has."""
        for index, classification in enumerate(classifications):
            code = classification["class_code"]
            if (classification["system_name"] or "").upper() != "HS" or code is None:
                continue
            digits = re.sub(r"[\s.]", "", code)
            element = self.origins[(*loc, "classifications", index, "class_code")]
            if not digits.isdigit():
                raise self.fail(element, f"HS ClassCode {code!r} is not a number; expected digits such as 06029048")
            self.note((*loc, "commodity_code"), element)
            return digits if len(digits) in _COMMODITY_CODE_LENGTHS else None
        return None

    def treatment(self, process: Element, loc: Loc) -> dict[str, Any]:
        characteristics: list[dict[str, Any]] = []
        for characteristic in process.all("ApplicableSPSProcessCharacteristic"):
            # The first Description names the characteristic (TTCH...); the others give its value per language.
            descriptions = characteristic.all("Description")
            chosen = preferred(descriptions[1:])
            value = measure(characteristic.first("ValueMeasure")) or (chosen.text if chosen else None)
            if descriptions and descriptions[0].text:
                self.note((*loc, "characteristics", len(characteristics)), characteristic)
                characteristics.append({"code": descriptions[0].text, "value": value})
        period = process.first("CompletionSPSPeriod")
        fields = self.values(process, loc, type_code="TypeCode")
        return fields | {
            "characteristics": characteristics,
            "start_date": self.moment(period, "StartDateTime", "DateTimeString")[1],
            "end_date": self.moment(period, "EndDateTime", "DateTimeString")[1],
            "duration": measure(period.first("DurationMeasure")) if period is not None else None,
            "additional_information": self.notes(
                process, "AdditionalInformationSPSNote", (*loc, "additional_information")
            ),
        }

    def locate(self, loc: Loc) -> Element:
        """The element a model field came from: the deepest recorded ancestor of that field."""
        for size in range(len(loc), 0, -1):
            if loc[:size] in self.origins:
                return self.origins[loc[:size]]
        return self.root

    def build(self, fields: dict[str, Any]) -> Certificate:
        try:
            return Certificate.model_validate(fields)
        except ValidationError as error:
            problems = []
            for detail in error.errors():
                loc = tuple(detail["loc"])
                value = detail.get("input")
                shown = f" (found {value!r})" if isinstance(value, str | int) else ""
                field = ".".join(str(part) for part in loc) or "certificate"
                problems.append(f"{self.where(self.locate(loc))}: {detail['msg']}{shown} [{field}]")
            first = self.path(self.locate(tuple(error.errors()[0]["loc"])))
            raise CertificateXmlError("; ".join(problems), path=first) from None
