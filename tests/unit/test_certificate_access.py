"""Which declarations a certificate was issued for: what lets a trader read a certificate."""

from typing import Any

import pytest

from services.gateway.domain.certificates import issued_for, readable_through
from tests.unit.builders import CERTIFICATE_NUMBER, certificate, declaration, document, goods_item

CITING = [document(CERTIFICATE_NUMBER)]


def importer(name: str | None) -> dict[str, Any]:
    return {"id": "GB123456789000"} if name is None else {"id": "GB123456789000", "name": name}


@pytest.mark.parametrize("name", ["Roses Import Ltd", "ROSES IMPORT LIMITED", "roses-import, ltd.", "  Roses  Import "])
def test_the_importer_named_as_the_consignee_reads_it_whatever_the_case_spacing_punctuation_or_legal_form(name):
    roses = declaration(goods_item(documents=CITING), importer=importer(name))
    assert issued_for(roses, certificate())


@pytest.mark.parametrize("name", ["Tulip Traders Ltd", "Roses Import Holdings Ltd", "Roses"])
def test_another_importer_does_not_read_it(name):
    assert not issued_for(declaration(goods_item(documents=CITING), importer=importer(name)), certificate())


def test_an_importer_known_by_its_eori_alone_does_not_read_it():
    assert not issued_for(declaration(goods_item(documents=CITING), importer=importer(None)), certificate())


def test_a_name_of_legal_form_or_punctuation_only_names_no_consignee():
    placeholder = certificate(consignee={"name": "Ltd."})
    assert not issued_for(declaration(goods_item(documents=CITING), importer=importer("- ltd -")), placeholder)


def test_a_declaration_citing_another_number_does_not_read_it():
    another = declaration(goods_item(documents=[document("NL-2026-999999")]), importer=importer("Roses Import Ltd"))
    assert not issued_for(another, certificate())


def test_a_number_cited_in_the_header_is_read_through_the_items_citing_none_of_their_own():
    roses = declaration(goods_item(), documents=CITING, importer=importer("Roses Import Ltd"))
    assert issued_for(roses, certificate())


def test_a_number_cited_in_the_header_that_every_item_replaces_with_its_own_is_not_relied_on():
    roses = declaration(
        goods_item(documents=[document("NL-2026-999999")]), documents=CITING, importer=importer("Roses Import Ltd")
    )
    assert not issued_for(roses, certificate())


@pytest.mark.parametrize(
    ("declared", "item_declared", "reads"),
    [
        ("NL", None, True),
        (None, None, True),  # no country of export stated: nothing to differ, as plant health has it
        ("BE", None, False),
        (None, "BE", False),
        ("BE", "NL", True),  # the item's own country of export overrides the declaration's
        ("NL", "BE", False),
    ],
)
def test_goods_exported_from_another_country_than_the_issuing_one_do_not_read_it(declared, item_declared, reads):
    item = goods_item(documents=CITING, export_country=item_declared)
    roses = declaration(item, importer=importer("Roses Import Ltd"), export_country=declared)
    assert issued_for(roses, certificate()) is reads


def test_every_goods_item_relying_on_it_must_come_from_the_issuing_country():
    from_nl = goods_item(1, documents=CITING)
    from_be = goods_item(2, documents=CITING, export_country="BE")
    roses = declaration(from_nl, from_be, importer=importer("Roses Import Ltd"))
    assert not issued_for(roses, certificate())


def test_the_goods_are_not_compared():
    tulips = goods_item(commodity_code="06031900", origin_country="KE", documents=CITING)
    assert issued_for(declaration(tulips, importer=importer("Roses Import Ltd")), certificate())


def test_a_trader_reads_it_through_any_one_of_its_citing_declarations_for_the_consignment():
    theirs = declaration(goods_item(documents=CITING), importer=importer("Roses Import Ltd"))
    someone_elses = declaration(goods_item(documents=CITING), importer=importer("Tulip Traders Ltd"))
    assert readable_through([someone_elses, theirs], certificate())
    assert not readable_through([someone_elses], certificate())
    assert not readable_through([], certificate())
