"""What a post-clearance correction changes in the duties owed, with the shipped tariff and rates."""

from datetime import date
from decimal import Decimal

import pytest

from services.contract.declaration import Declaration
from services.contract.keyed_draw import KeyedDraw
from services.customs.adapters.rulebook_files import load_rulebook
from services.customs.domain.corrections import assess_correction
from services.customs.domain.rulebook import Rulebook
from services.customs.settings import CustomsSettings
from tests.unit.builders import declaration, goods_item

ON = date(2026, 11, 20)


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return load_rulebook(CustomsSettings(selectivity_key="x" * 32), KeyedDraw(b"test-selectivity-key-0123456789"))


def laptops(value: str, commodity_code: str = "84713000") -> Declaration:
    """Laptops from China: 0% duty, VAT 20% on the value in pounds (1 GBP = 1.1450 EUR in November 2026)."""
    return declaration(goods_item(commodity_code=commodity_code, origin_country="CN", value=value))


def test_a_higher_value_makes_more_vat_due(rulebook: Rulebook) -> None:
    # 8400.00 EUR = 7336.24 GBP, VAT 1467.24; 9400.00 EUR = 8209.61 GBP, VAT 1641.92 (rounded down).
    outcome = assess_correction(rulebook, laptops("8400.00"), laptops("9400.00"), ON)
    assert outcome.accepted
    assert outcome.before is not None
    assert outcome.after is not None
    assert (outcome.before.total, outcome.after.total) == (Decimal("1467.24"), Decimal("1641.92"))
    assert outcome.difference == Decimal("174.68")
    [reason] = outcome.reasons
    assert reason.code == "DUTY_DUE_AFTER_CORRECTION"
    assert "174.68 GBP more is due (duty 0.00, VAT 174.68)" in reason.text


def test_a_lower_value_is_repaid(rulebook: Rulebook) -> None:
    outcome = assess_correction(rulebook, laptops("9400.00"), laptops("8400.00"), ON)
    assert outcome.difference == Decimal("-174.68")
    assert [r.code for r in outcome.reasons] == ["DUTY_REPAYABLE_AFTER_CORRECTION"]
    assert "174.68 GBP is repaid" in outcome.reasons[0].text


def test_a_correction_that_leaves_the_duties_alone(rulebook: Rulebook) -> None:
    corrected = laptops("8400.00").model_copy(update={"consignment_reference": "26GB000000000000001"})
    outcome = assess_correction(rulebook, laptops("8400.00"), corrected, ON)
    assert outcome.difference == Decimal("0.00")
    assert [r.code for r in outcome.reasons] == ["DUTY_UNCHANGED_AFTER_CORRECTION"]


def test_a_correction_to_a_code_the_tariff_lacks_is_not_accepted(rulebook: Rulebook) -> None:
    outcome = assess_correction(rulebook, laptops("8400.00"), laptops("8400.00", commodity_code="99999999"), ON)
    assert not outcome.accepted
    assert outcome.before is not None
    assert outcome.after is None
    assert outcome.difference is None
    [reason] = outcome.reasons
    assert reason.code == "UNKNOWN_COMMODITY_CODE"
    assert reason.text.startswith("the corrected declaration: ")


def test_the_rates_are_those_of_the_day_the_declaration_was_accepted(rulebook: Rulebook) -> None:
    before = assess_correction(rulebook, laptops("8400.00"), laptops("9400.00"), date(2026, 10, 15))
    assert before.difference != assess_correction(rulebook, laptops("8400.00"), laptops("9400.00"), ON).difference
