"""The routing table: which agencies must answer a declaration."""

from datetime import date

import pytest

from services.contract.declaration import DeclarationType
from services.contract.rules_file import load_rules
from services.gateway.domain.routing import AgencyRoute, RoutingTable
from tests.unit.builders import ROUTING_TABLE, declaration, document, goods_item

LAPTOPS = "84713000"


@pytest.fixture(scope="module")
def shipped() -> RoutingTable:
    return load_rules(ROUTING_TABLE, RoutingTable)


def table(*routes: AgencyRoute) -> RoutingTable:
    return RoutingTable(version="test", effective_from=date(2026, 1, 1), agencies=list(routes))


class TestShippedTable:
    @pytest.mark.parametrize(
        "commodity_code",
        [
            pytest.param("06031100", id="roses"),
            pytest.param("08044000", id="avocados"),
            pytest.param("10019900", id="wheat"),
            pytest.param("4407109100", id="sawn-wood"),
        ],
    )
    def test_plant_products_need_customs_and_phyto(self, shipped, commodity_code):
        assert shipped.required_agencies(declaration(goods_item(commodity_code=commodity_code))) == [
            "customs",
            "phyto",
        ]

    def test_laptops_need_only_customs(self, shipped):
        assert shipped.required_agencies(declaration(goods_item(commodity_code=LAPTOPS))) == ["customs"]

    def test_item_citing_a_phytosanitary_certificate_needs_phyto_whatever_the_goods(self, shipped):
        laptops = goods_item(commodity_code=LAPTOPS, documents=[document("NL-2026-000123")])
        assert shipped.required_agencies(declaration(laptops)) == ["customs", "phyto"]

    def test_header_citing_a_phytosanitary_certificate_needs_phyto(self, shipped):
        laptops = declaration(goods_item(commodity_code=LAPTOPS), documents=[document("NL-2026-000123")])
        assert shipped.required_agencies(laptops) == ["customs", "phyto"]

    def test_other_documents_do_not_bring_in_phyto(self, shipped):
        laptops = goods_item(commodity_code=LAPTOPS, documents=[document("INV-1", code="N380")])
        assert shipped.required_agencies(declaration(laptops)) == ["customs"]

    def test_mixed_declaration_lists_each_agency_once(self, shipped):
        items = [
            goods_item(1, commodity_code="06031100", documents=[document("NL-1")]),
            goods_item(2, commodity_code="08044000", documents=[document("NL-2")]),
            goods_item(3, commodity_code=LAPTOPS),
        ]
        assert shipped.required_agencies(declaration(*items, documents=[document("NL-3")])) == ["customs", "phyto"]

    @pytest.mark.parametrize("declaration_type", list(DeclarationType))
    def test_customs_answers_every_declaration_type(self, shipped, declaration_type):
        laptops = declaration(goods_item(commodity_code=LAPTOPS), type=declaration_type)
        assert shipped.required_agencies(laptops) == ["customs"]


class TestBuiltTables:
    def test_agency_listed_twice_is_required_once_in_first_position(self):
        routes = table(
            AgencyRoute(agency="phyto", commodity_prefixes=["06"]),
            AgencyRoute(agency="customs", always=True),
            AgencyRoute(agency="phyto", document_codes=["N851"]),
        )
        roses = declaration(goods_item(documents=[document("NL-1")]))
        assert routes.required_agencies(roses) == ["phyto", "customs"]

    def test_declaration_types_restrict_even_an_always_route(self):
        routes = table(
            AgencyRoute(agency="customs", always=True),
            AgencyRoute(agency="excise", always=True, declaration_types=[DeclarationType.EXPORT]),
        )
        assert routes.required_agencies(declaration(type=DeclarationType.IMPORT)) == ["customs"]
        assert routes.required_agencies(declaration(type=DeclarationType.EXPORT)) == ["customs", "excise"]

    def test_declaration_types_restrict_conditional_routes(self):
        routes = table(
            AgencyRoute(agency="customs", always=True),
            AgencyRoute(agency="phyto", commodity_prefixes=["06"], declaration_types=[DeclarationType.IMPORT]),
        )
        assert routes.required_agencies(declaration(type=DeclarationType.TRANSIT)) == ["customs"]
        assert routes.required_agencies(declaration(type=DeclarationType.IMPORT)) == ["customs", "phyto"]

    def test_origin_country_brings_in_its_agency(self):
        routes = table(AgencyRoute(agency="customs", always=True), AgencyRoute(agency="vet", origin_countries=["BR"]))
        assert routes.required_agencies(declaration(goods_item(origin_country="BR"))) == ["customs", "vet"]
        assert routes.required_agencies(declaration(goods_item(origin_country="NL"))) == ["customs"]

    def test_route_without_conditions_applies_to_nothing(self):
        routes = table(AgencyRoute(agency="customs", always=True), AgencyRoute(agency="vet"))
        assert routes.required_agencies(declaration()) == ["customs"]
