"""How the elements of a WCO Data Model declaration (DEC-DMS, as the UK CDS uses it) fill the contract's fields.

wco_declaration_xml parses the document safely into Elements; FieldReader maps them to the Declaration's fields and
remembers which element each field came from, so that a bad value is reported where it is in the document.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from services.contract.declaration import Declaration, DeclarationType
from services.gateway.adapters.safe_xml import Node, XmlRefused

DEC = "urn:wco:datamodel:WCO:DEC-DMS:2"
DECLARATION_DS = "urn:wco:datamodel:WCO:Declaration_DS:DMS:2"

# HMRC's "additional messages": FunctionCode 13 with these TypeCodes point at a lodged declaration by its MRN and
# carry only the changed elements, so they cannot be read as a whole declaration.
_REQUESTS = {"COR": "an amendment", "INV": "a cancellation (invalidation)"}
_DATETIME_304 = re.compile(r"^(\d{14})(Z|[+-]\d{2}(?:\d{2})?)$")
_ORIGIN_TYPES = {"1": "origin_country", "2": "preferential_origin"}

Loc = tuple[str | int, ...]
Source = tuple[str, int]  # element path (or path/@attribute) and line


class DeclarationXmlError(XmlRefused):
    """The body is not a declaration this parser can read; the message names what is wrong and where."""


@dataclass(slots=True, eq=False)
class Element(Node["Element"]):
    """An element of a declaration: lookups in the DEC-DMS namespace unless told another."""

    path: str = ""  # from the root, with positions of repeated siblings, as in XPath

    @property
    def where(self) -> str:
        return f"{self.path} (line {self.line})"

    @property
    def text(self) -> str:
        # Annotated samples wrap values across lines ("v2.1\n\t"); spaces inside identifiers are kept.
        return re.sub(r"\s*[\r\n\t]\s*", " ", self.raw_text).strip()

    def all(self, name: str, namespace: str = DEC) -> list["Element"]:
        return [child for child in self.children if child.name == name and child.namespace == namespace]

    def first(self, name: str, namespace: str = DEC) -> "Element | None":
        return next(iter(self.all(name, namespace)), None)

    def value(self, name: str) -> str | None:
        child = self.first(name)
        return (child.text or None) if child is not None else None


class FieldReader:
    """Builds the Declaration's fields from the tree, remembering which element each field came from."""

    def __init__(self) -> None:
        self.sources: dict[Loc, Source] = {}

    def note(self, loc: Loc, element: Element, attribute: str | None = None) -> None:
        self.sources[loc] = (element.path + (f"/@{attribute}" if attribute else ""), element.line)

    def same_source(self, loc: Loc, source: Loc) -> None:
        self.sources[loc] = self.sources[source]

    def text(self, parent: Element, name: str, loc: Loc | None = None) -> str | None:
        child = parent.first(name)
        if child is None or not child.text:
            return None
        if loc is not None:
            self.note(loc, child)
        return child.text

    def required(self, parent: Element, name: str, loc: Loc | None, what: str) -> str:
        child = self.required_element(parent, name, what)
        if loc is not None:
            self.note(loc, child)
        return child.text

    @staticmethod
    def required_element(parent: Element, name: str, what: str) -> Element:
        child = parent.first(name)
        if child is None or not child.text:
            raise DeclarationXmlError(
                f"{parent.where}: {name} is missing or empty: {what}", path=f"{parent.path}/{name}"
            )
        return child

    def locate(self, loc: Loc) -> Source:
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.sources:
                return self.sources[loc[:end]]
        return self.sources[()]

    # Header

    def declaration(self, element: Element) -> dict[str, Any]:
        self.note((), element)
        fields: dict[str, Any] = {}
        function_code = self.required(element, "FunctionCode", ("function_code",), "the message function (9 original)")
        type_element = self.required_element(element, "TypeCode", "the declaration type, e.g. IMA (D.E. 1/1-2)")
        type_code = type_element.text
        if function_code == "13" and type_code in _REQUESTS:
            raise DeclarationXmlError(
                f"{element.where}: FunctionCode 13 with TypeCode {type_code} is {_REQUESTS[type_code]} request for "
                f"declaration {element.value('ID') or '(no ID)'}; it carries only the changed elements, not a whole "
                "declaration. Send the whole declaration with FunctionCode 4 (change) or 5 (replace) to "
                "/v1/declarations/{id}/amendments, or cancel it through /v1/declarations/{id}/cancellation",
                path=f"{element.path}/FunctionCode",
            )
        fields["function_code"] = function_code
        fields.update(self.declaration_type(type_element))
        self.note(("type",), type_element)
        self.note(("additional_type",), type_element)
        fields["lrn"] = self.required(
            element, "FunctionalReferenceID", ("lrn",), "the trader's reference (LRN, D.E. 2/5)"
        )
        when = self.acceptance(element)
        if when is not None:
            fields["acceptance_datetime"] = when
        fields["declarant"] = self.party(element, "Declarant", ("declarant",))
        fields["exporter"] = self.party(element, "Exporter", ("exporter",))
        fields["authorisations"] = [
            {
                "holder_id": self.required(holder, "ID", ("authorisations", i, "holder_id"), "the holder's EORI"),
                "category_code": self.required(
                    holder, "CategoryCode", ("authorisations", i, "category_code"), "the authorisation type, e.g. AEOC"
                ),
            }
            for i, holder in self.indexed(element.all("AuthorisationHolder"), ("authorisations",))
        ]
        fields["guarantees"] = [
            self.drop_none(
                type_code=self.required(
                    guarantee, "SecurityDetailsCode", ("guarantees", i, "type_code"), "the guarantee type (D.E. 8/2)"
                ),
                reference=self.text(guarantee, "ID", ("guarantees", i, "reference")),
            )
            for i, guarantee in self.indexed(element.all("ObligationGuarantee"), ("guarantees",))
        ]
        fields.update(self.additional_documents(element, ()))
        shipment = element.first("GoodsShipment")
        if shipment is None:
            raise DeclarationXmlError(
                f"{element.where}: GoodsShipment is missing", path=f"{element.path}/GoodsShipment"
            )
        fields.update(self.shipment(shipment))
        transport = self.drop_none(
            border=self.means(element.first("BorderTransportMeans"), ("transport", "border")),
            **self.consignment_transport(shipment.first("Consignment")),
        )
        if transport:
            self.note(("transport",), element)
            fields["transport"] = transport
        return fields

    def declaration_type(self, element: Element) -> dict[str, Any]:
        """TypeCode holds the declaration type (D.E. 1/1) and the additional type letter (D.E. 1/2): IMA, EXD..."""
        kinds = [kind.value for kind in DeclarationType]
        type_code = element.text
        if len(type_code) not in (2, 3) or type_code[:2] not in kinds:
            raise DeclarationXmlError(
                f"{element.where}: TypeCode {type_code!r} is not a declaration type: expected one of "
                f"{', '.join(kinds)}, optionally followed by the additional declaration type letter "
                "(e.g. IMA, IMY, EXD, COD)",
                path=element.path,
            )
        return self.drop_none(type=type_code[:2], additional_type=type_code[2:] or None)

    def acceptance(self, element: Element) -> str | None:
        when = element.first("AcceptanceDateTime")
        if when is None:
            return None
        stamp = when.first("DateTimeString", DECLARATION_DS) or when.first("DateTimeString")
        if stamp is None or not stamp.text:
            raise DeclarationXmlError(f"{when.where}: DateTimeString is missing", path=f"{when.path}/DateTimeString")
        matched = _DATETIME_304.match(stamp.text)
        if stamp.attributes.get("formatCode") != "304" or matched is None:
            raise DeclarationXmlError(
                f"{stamp.where}: {stamp.text!r} with formatCode {stamp.attributes.get('formatCode')!r} is not a date "
                "and time this gateway reads: expected formatCode 304, CCYYMMDDhhmmss and a UTC offset "
                "(20250812112657+01)",
                path=stamp.path,
            )
        digits, zone = matched.groups()
        offset = "+00:00" if zone == "Z" else f"{zone[:3]}:{zone[3:] or '00'}"
        self.note(("acceptance_datetime",), stamp)
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}T{digits[8:10]}:{digits[10:12]}:{digits[12:]}{offset}"

    def party(self, parent: Element, name: str, loc: Loc) -> dict[str, Any]:
        element = parent.first(name)
        if element is None:
            raise DeclarationXmlError(
                f"{parent.where}: {name} is missing (its ID, or else its Name and Address)",
                path=f"{parent.path}/{name}",
            )
        self.note(loc, element)
        party = self.drop_none(
            id=self.text(element, "ID", (*loc, "id")), name=self.text(element, "Name", (*loc, "name"))
        )
        address = element.first("Address")
        if address is not None:
            self.note((*loc, "address"), address)
            party["address"] = self.drop_none(
                line=self.text(address, "Line", (*loc, "address", "line")),
                city=self.text(address, "CityName", (*loc, "address", "city")),
                postcode=self.text(address, "PostcodeID", (*loc, "address", "postcode")),
                country_code=self.text(address, "CountryCode", (*loc, "address", "country_code")),
            )
        return party

    def means(self, element: Element | None, loc: Loc) -> dict[str, Any] | None:
        if element is None:
            return None
        self.note(loc, element)
        return self.drop_none(
            mode_code=self.text(element, "ModeCode", (*loc, "mode_code")),
            id=self.text(element, "ID", (*loc, "id")),
            identification_type=self.text(element, "IdentificationTypeCode", (*loc, "identification_type")),
            nationality=self.text(element, "RegistrationNationalityCode", (*loc, "nationality")),
        )

    def consignment_transport(self, consignment: Element | None) -> dict[str, Any]:
        if consignment is None:
            return {}
        containerised = self.text(consignment, "ContainerCode", ("transport", "containerised"))
        if containerised not in (None, "0", "1"):
            raise DeclarationXmlError(
                f"{consignment.where}: ContainerCode {containerised!r} must be 1 (in containers) or 0 (not)",
                path=f"{consignment.path}/ContainerCode",
            )
        return self.drop_none(
            arrival=self.means(consignment.first("ArrivalTransportMeans"), ("transport", "arrival")),
            containerised=None if containerised is None else containerised == "1",
            container_ids=[
                self.required(equipment, "ID", ("transport", "container_ids", i), "the container's identifier")
                for i, equipment in self.indexed(consignment.all("TransportEquipment"), ("transport", "container_ids"))
            ]
            or None,
        )

    # Shipment

    def shipment(self, shipment: Element) -> dict[str, Any]:
        fields: dict[str, Any] = {"importer": self.party(shipment, "Importer", ("importer",))}
        consignment = shipment.first("Consignment")
        location = consignment.first("GoodsLocation") if consignment is not None else None
        if location is not None:
            self.note(("goods_location",), location)
            address = location.first("Address")
            fields["goods_location"] = self.drop_none(
                name=self.required(location, "Name", ("goods_location", "name"), "the location code (D.E. 5/23)"),
                type_code=self.text(location, "TypeCode", ("goods_location", "type_code")),
                qualifier=None if address is None else self.text(address, "TypeCode", ("goods_location", "qualifier")),
                country_code=None
                if address is None
                else self.text(address, "CountryCode", ("goods_location", "country_code")),
            )
        destination = shipment.first("Destination")
        if destination is not None:
            fields["destination_country"] = self.text(destination, "CountryCode", ("destination_country",))
        export = shipment.first("ExportCountry")
        if export is not None:
            fields["export_country"] = self.text(export, "ID", ("export_country",))
        terms = shipment.first("TradeTerms")
        if terms is not None:
            self.note(("trade_terms",), terms)
            fields["trade_terms"] = self.drop_none(
                condition_code=self.text(terms, "ConditionCode", ("trade_terms", "condition_code")),
                location=self.text(terms, "LocationID", ("trade_terms", "location")),
                location_name=self.text(terms, "LocationName", ("trade_terms", "location_name")),
            )
        fields["previous_documents"] = self.previous_documents(shipment, ())
        ucr = shipment.first("UCR")
        reference = None if ucr is None else self.text(ucr, "TraderAssignedReferenceID", ("consignment_reference",))
        ducr = [i for i, document in enumerate(fields["previous_documents"]) if document.get("type_code") == "DCR"]
        if reference is None and ducr:
            # The UK carries the consignment's reference (DUCR) as a previous document of type DCR.
            reference = fields["previous_documents"][ducr[0]].get("id")
            self.same_source(("consignment_reference",), ("previous_documents", ducr[0], "id"))
        fields["consignment_reference"] = reference
        items = shipment.all("GovernmentAgencyGoodsItem")
        if not items:
            raise DeclarationXmlError(
                f"{shipment.where}: no GovernmentAgencyGoodsItem: a declaration needs at least one goods item",
                path=f"{shipment.path}/GovernmentAgencyGoodsItem",
            )
        fields["goods_items"] = [
            self.goods_item(item, ("goods_items", i)) for i, item in self.indexed(items, ("goods_items",))
        ]
        self.lift_export_country(fields)
        return {key: value for key, value in fields.items() if value is not None}

    def lift_export_country(self, fields: dict[str, Any]) -> None:
        """Item-level export countries that all agree with each other are the declaration's (as phyto reads it)."""
        countries = {item.get("export_country") for item in fields["goods_items"]}
        if len(countries) == 1 and (fields.get("export_country") in countries or fields.get("export_country") is None):
            country = countries.pop()
            if country is not None and fields.get("export_country") is None:
                fields["export_country"] = country
                self.same_source(("export_country",), ("goods_items", 0, "export_country"))
            for item in fields["goods_items"]:
                item.pop("export_country", None)

    def previous_documents(self, parent: Element, loc: Loc) -> list[dict[str, Any]]:
        return [
            self.drop_none(
                category_code=self.text(document, "CategoryCode", (*loc, "previous_documents", i, "category_code")),
                type_code=self.text(document, "TypeCode", (*loc, "previous_documents", i, "type_code")),
                id=self.text(document, "ID", (*loc, "previous_documents", i, "id")),
                line=self.text(document, "LineNumeric", (*loc, "previous_documents", i, "line")),
            )
            for i, document in self.indexed(parent.all("PreviousDocument"), (*loc, "previous_documents"))
        ]

    def additional_documents(self, parent: Element, loc: Loc) -> dict[str, list[dict[str, Any]]]:
        """Documents with an ID are cited documents; without one they are statements (e.g. Y942)."""
        documents: list[dict[str, Any]] = []
        statements: list[dict[str, Any]] = []
        for element in parent.all("AdditionalDocument"):
            cited = element.value("ID") is not None
            target, kind = (documents, "documents") if cited else (statements, "document_statements")
            here: Loc = (*loc, kind, len(target))
            self.note(here, element)
            target.append(
                self.drop_none(
                    category_code=self.text(element, "CategoryCode", (*here, "category_code")),
                    type_code=self.text(element, "TypeCode", (*here, "type_code")),
                    id=self.text(element, "ID", (*here, "id")),
                    status=self.text(element, "LPCOExemptionCode", (*here, "status")),
                    name=self.text(element, "Name", (*here, "name")),
                )
            )
        return {"documents": documents, "document_statements": statements}

    # Goods items

    def goods_item(self, element: Element, loc: Loc) -> dict[str, Any]:
        item: dict[str, Any] = {
            "sequence": self.required(
                element, "SequenceNumeric", (*loc, "sequence"), "the goods item number (D.E. 1/6)"
            )
        }
        commodity = element.first("Commodity")
        if commodity is None:
            raise DeclarationXmlError(
                f"{element.where}: Commodity is missing (description and commodity code)",
                path=f"{element.path}/Commodity",
            )
        item["description"] = self.required(commodity, "Description", (*loc, "description"), "the goods (D.E. 6/8)")
        item.update(self.classification(commodity, loc))
        item.update(self.measures(commodity, loc))
        if "quantity" not in item:
            raise DeclarationXmlError(
                f"{commodity.where}: GoodsMeasure/NetNetWeightMeasure is missing: each goods item needs its net mass "
                "(D.E. 6/1) or a TariffQuantity with a unitCode",
                path=f"{commodity.path}/GoodsMeasure/NetNetWeightMeasure",
            )
        item["value"] = self.item_price(element, commodity, loc)
        item["duties"] = [
            self.duty(duty, (*loc, "duties", i))
            for i, duty in self.indexed(commodity.all("DutyTaxFee"), (*loc, "duties"))
        ]
        item.update(self.origins(element, loc))
        export = element.first("ExportCountry")
        if export is not None:
            item["export_country"] = self.text(export, "ID", (*loc, "export_country"))
        valuation = element.first("CustomsValuation")
        if valuation is not None:
            item["valuation_method"] = self.text(valuation, "MethodCode", (*loc, "valuation_method"))
        item["procedure"] = self.procedure(element, loc)
        item["packages"] = [
            self.drop_none(
                type_code=self.text(package, "TypeCode", (*loc, "packages", i, "type_code")),
                quantity=self.text(package, "QuantityQuantity", (*loc, "packages", i, "quantity")),
                marks=self.text(package, "MarksNumbersID", (*loc, "packages", i, "marks")),
            )
            for i, package in self.indexed(element.all("Packaging"), (*loc, "packages"))
        ]
        item.update(self.additional_documents(element, loc))
        item["previous_documents"] = self.previous_documents(element, loc)
        statements = [info for info in element.all("AdditionalInformation") if info.value("StatementCode")]
        item["additional_information"] = [
            self.drop_none(
                code=self.text(info, "StatementCode", (*loc, "additional_information", i, "code")),
                text=self.text(info, "StatementDescription", (*loc, "additional_information", i, "text")),
            )
            for i, info in self.indexed(statements, (*loc, "additional_information"))
        ]
        return {key: value for key, value in item.items() if value is not None}

    def classification(self, commodity: Element, loc: Loc) -> dict[str, Any]:
        codes: dict[str, list[Element]] = {}
        for classification in commodity.all("Classification"):
            kind = classification.value("IdentificationTypeCode") or "(none)"
            codes.setdefault(kind, []).append(classification)
        found: dict[str, Any] = {}
        for kind, key in (("TSP", "commodity_code"), ("TRC", "taric_code")):
            elements = codes.get(kind, [])
            if len(elements) > 1:
                raise DeclarationXmlError(
                    f"{elements[1].where}: a second Classification of type {kind}; a goods item has one",
                    path=elements[1].path,
                )
            if elements:
                found[key] = self.required(elements[0], "ID", (*loc, key), f"the {kind} code")
        code = found.get("commodity_code")
        if code is None or not (len(code) == 8 and code.isascii() and code.isdigit()):
            where = codes["TSP"][0].where if "TSP" in codes else commodity.where
            raise DeclarationXmlError(
                f"{where}: the commodity code (Classification with IdentificationTypeCode TSP, D.E. 6/14) must be "
                f"8 digits; found {code!r}",
                path=f"{commodity.path}/Classification",
            )
        for kind, key in (("TRA", "taric_additional_codes"), ("GN", "national_additional_codes")):
            found[key] = [
                self.required(element, "ID", (*loc, key, i), f"the {kind} additional code")
                for i, element in self.indexed(codes.get(kind, []), (*loc, key))
            ]
        return found

    def measures(self, commodity: Element, loc: Loc) -> dict[str, Any]:
        measure = commodity.first("GoodsMeasure")
        if measure is None:
            return {}
        found: dict[str, Any] = {}
        for name, key in (("NetNetWeightMeasure", "net_mass_kg"), ("GrossMassMeasure", "gross_mass_kg")):
            element = measure.first(name)
            if element is None:
                continue
            unit = element.attributes.get("unitCode", "KGM")
            if unit != "KGM":
                raise DeclarationXmlError(
                    f"{element.where}: {name} is in {unit!r}; masses are declared in kilograms (unitCode KGM)",
                    path=element.path,
                )
            found[key] = self.text(measure, name, (*loc, key))
        tariff = measure.first("TariffQuantity")
        if tariff is not None:
            found["supplementary_quantity"] = self.text(measure, "TariffQuantity", (*loc, "supplementary_quantity"))
        # Quantity compares with the certificate's net quantity, which is in kg: net mass first.
        if found.get("net_mass_kg") is not None:
            found["quantity"] = {"value": found["net_mass_kg"], "unit": "KGM"}
            self.same_source((*loc, "quantity"), (*loc, "net_mass_kg"))
        elif tariff is not None and "unitCode" in tariff.attributes:
            found["quantity"] = {"value": tariff.text, "unit": tariff.attributes["unitCode"]}
            self.note((*loc, "quantity"), tariff)
        return found

    def item_price(self, item: Element, commodity: Element, loc: Loc) -> dict[str, Any]:
        invoice = commodity.first("InvoiceLine")
        amount = invoice.first("ItemChargeAmount") if invoice is not None else None
        if amount is None:
            amount = item.first("StatisticalValueAmount")
        if amount is None:
            raise DeclarationXmlError(
                f"{commodity.where}: InvoiceLine/ItemChargeAmount is missing: each goods item needs its item price "
                "(D.E. 4/14) or a StatisticalValueAmount",
                path=f"{commodity.path}/InvoiceLine/ItemChargeAmount",
            )
        return self.amount(amount, (*loc, "value"))

    def amount(self, element: Element, loc: Loc) -> dict[str, Any]:
        self.note(loc, element)
        self.note((*loc, "currency"), element, "currencyID")
        return self.drop_none(value=element.text or None, currency=element.attributes.get("currencyID"))

    def duty(self, element: Element, loc: Loc) -> dict[str, Any]:
        self.note(loc, element)
        duty = self.drop_none(
            type_code=self.text(element, "TypeCode", (*loc, "type_code")),
            regime_code=self.text(element, "DutyRegimeCode", (*loc, "regime_code")),
            rate=self.text(element, "TaxRateNumeric", (*loc, "rate")),
        )
        base = element.first("SpecificTaxBaseQuantity")
        if base is not None:
            self.note((*loc, "tax_base_quantity"), base)
            self.note((*loc, "tax_base_quantity", "unit"), base, "unitCode")
            duty["tax_base_quantity"] = self.drop_none(value=base.text or None, unit=base.attributes.get("unitCode"))
        amount = element.first("AdValoremTaxBaseAmount")
        if amount is not None:
            duty["tax_base_amount"] = self.amount(amount, (*loc, "tax_base_amount"))
        payment = element.first("Payment")
        if payment is not None:
            method = self.text(payment, "MethodCode", (*loc, "payment_method"))
            if method is not None:
                duty["payment_method"] = method
        return duty

    def origins(self, item: Element, loc: Loc) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for origin in item.all("Origin"):
            kind = origin.value("TypeCode") or "1"
            key = _ORIGIN_TYPES.get(kind)
            if key is None:
                raise DeclarationXmlError(
                    f"{origin.where}: TypeCode {kind!r} is not 1 (origin) or 2 (preferential origin)", path=origin.path
                )
            if key in found:
                raise DeclarationXmlError(f"{origin.where}: a second origin of TypeCode {kind}", path=origin.path)
            found[key] = self.required(origin, "CountryCode", (*loc, key), "the country of origin")
        if not found:
            raise DeclarationXmlError(
                f"{item.where}: Origin is missing: each goods item needs its country of origin (D.E. 5/15)",
                path=f"{item.path}/Origin",
            )
        if "origin_country" not in found:  # only a preferential origin: it is the origin too
            found["origin_country"] = found["preferential_origin"]
            self.same_source((*loc, "origin_country"), (*loc, "preferential_origin"))
        return found

    def procedure(self, item: Element, loc: Loc) -> dict[str, Any] | None:
        procedure: dict[str, Any] = {"additional": []}
        for element in item.all("GovernmentProcedure"):
            current = self.required(element, "CurrentCode", None, "the procedure code (D.E. 1/10 or 1/11)")
            if len(current) == 3:
                self.note((*loc, "procedure", "additional", len(procedure["additional"])), element)
                procedure["additional"].append(current)
            elif "requested" in procedure:
                raise DeclarationXmlError(f"{element.where}: a second procedure (D.E. 1/10)", path=element.path)
            else:
                self.note((*loc, "procedure"), element)
                procedure["requested"] = self.text(element, "CurrentCode", (*loc, "procedure", "requested"))
                procedure["previous"] = self.required(
                    element, "PreviousCode", (*loc, "procedure", "previous"), "the previous procedure (00 if none)"
                )
        if "requested" not in procedure:
            if procedure["additional"]:
                raise DeclarationXmlError(
                    f"{item.where}: an additional procedure (D.E. 1/11) without a procedure (D.E. 1/10: "
                    "GovernmentProcedure with a 2-digit CurrentCode and a PreviousCode)",
                    path=f"{item.path}/GovernmentProcedure",
                )
            return None
        return procedure

    # Helpers

    def indexed(self, elements: Iterable[Element], loc: Loc) -> Iterator[tuple[int, Element]]:
        for i, element in enumerate(elements):
            self.note((*loc, i), element)
            yield i, element

    @staticmethod
    def drop_none(**values: Any) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value is not None}


def check_counts(element: Element, declaration: Declaration) -> None:
    """GoodsItemQuantity and TotalPackageQuantity must agree with the goods items they summarise."""
    items = f"{element.path}/GoodsShipment/GovernmentAgencyGoodsItem"
    item_count = total_of(element, "GoodsItemQuantity")
    if item_count is not None and item_count[0] != len(declaration.goods_items):
        raise DeclarationXmlError(
            f"{item_count[1].where}: GoodsItemQuantity is {item_count[0]} but the declaration has "
            f"{len(declaration.goods_items)} {items} elements",
            path=item_count[1].path,
        )
    packages = sum(item.package_count for item in declaration.goods_items)
    package_count = total_of(element, "TotalPackageQuantity")
    if package_count is not None and package_count[0] != packages:
        raise DeclarationXmlError(
            f"{package_count[1].where}: TotalPackageQuantity is {package_count[0]} but the "
            f"Packaging/QuantityQuantity of its goods items ({items}) add up to {packages}",
            path=package_count[1].path,
        )


def total_of(element: Element, name: str) -> tuple[int, Element] | None:
    total = element.first(name)
    if total is None:
        return None
    if not (total.text.isascii() and total.text.isdigit()):
        raise DeclarationXmlError(f"{total.where}: {name} {total.text!r} is not a whole number", path=total.path)
    return int(total.text), total
