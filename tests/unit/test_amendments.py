"""When a lodged declaration may be amended, cancelled or corrected, and what an amendment changed."""

import pytest

from services.contract.declaration import FunctionCode
from services.contract.events import ClearanceStatus
from services.gateway.domain.amendments import Change, changed_fields, problem_with_body, refusal
from tests.unit.builders import declaration

NOT_RELEASED = [ClearanceStatus.SUBMITTED, ClearanceStatus.UNDER_CONTROL, ClearanceStatus.HELD, ClearanceStatus.REFUSED]


class TestWhenAChangeIsAllowed:
    @pytest.mark.parametrize("status", NOT_RELEASED)
    @pytest.mark.parametrize("change", [Change.AMENDMENT, Change.CANCELLATION])
    def test_before_release_a_declaration_is_amended_or_cancelled(
        self, change: Change, status: ClearanceStatus
    ) -> None:
        assert refusal(change, status) is None

    @pytest.mark.parametrize("status", NOT_RELEASED)
    def test_before_release_it_is_not_corrected_but_amended(self, status: ClearanceStatus) -> None:
        assert "amend it" in (refusal(Change.CORRECTION, status) or "")

    @pytest.mark.parametrize("change", [Change.AMENDMENT, Change.CANCELLATION])
    def test_after_release_only_a_post_clearance_correction(self, change: Change) -> None:
        assert "post-clearance correction" in (refusal(change, ClearanceStatus.RELEASED) or "")
        assert refusal(Change.CORRECTION, ClearanceStatus.RELEASED) is None

    @pytest.mark.parametrize("change", list(Change))
    def test_a_cancelled_declaration_takes_no_change(self, change: Change) -> None:
        assert "cancelled" in (refusal(change, ClearanceStatus.CANCELLED) or "")

    def test_every_status_has_an_answer_for_every_change(self) -> None:
        allowed = {(c, s) for c in Change for s in ClearanceStatus if refusal(c, s) is None}
        assert len(allowed) == 2 * len(NOT_RELEASED) + 1


class TestTheBodyOfAChange:
    CURRENT = declaration()

    @pytest.mark.parametrize("code", [FunctionCode.CHANGE, FunctionCode.REPLACE])
    def test_a_whole_declaration_with_change_or_replace_is_a_new_version(self, code: FunctionCode) -> None:
        assert problem_with_body(Change.AMENDMENT, self.CURRENT, declaration(function_code=code)) is None

    @pytest.mark.parametrize("code", [FunctionCode.ORIGINAL, FunctionCode.CANCELLATION])
    def test_an_original_or_a_cancellation_is_not(self, code: FunctionCode) -> None:
        problem = problem_with_body(Change.CORRECTION, self.CURRENT, declaration(function_code=code))
        assert problem is not None
        assert problem[0] == "function_code"
        assert f"not {code.value}" in problem[1]

    def test_the_lrn_names_the_declaration_and_cannot_change(self) -> None:
        other = declaration(function_code=FunctionCode.CHANGE, lrn="LRN-OTHER")
        assert problem_with_body(Change.AMENDMENT, self.CURRENT, other) == (
            "lrn",
            f"an amendment keeps the declaration's LRN {self.CURRENT.lrn!r}",
        )


class TestChangedFields:
    def test_nested_fields_and_list_items_by_index(self) -> None:
        before = {"lrn": "A", "goods_items": [{"value": {"value": "1"}}, {"value": {"value": "2"}}]}
        after = {"lrn": "A", "goods_items": [{"value": {"value": "1"}}, {"value": {"value": "3"}}]}
        assert changed_fields(before, after) == ["goods_items.1.value.value"]

    def test_added_and_removed_fields(self) -> None:
        assert changed_fields({"a": 1, "b": None}, {"a": 1, "c": 2}) == ["c"]
        assert changed_fields({"a": 1, "b": 2}, {"a": 1}) == ["b"]

    def test_a_list_that_grows_or_shrinks_changes_as_a_whole(self) -> None:
        assert changed_fields({"goods_items": [1]}, {"goods_items": [1, 2]}) == ["goods_items"]

    def test_the_function_code_is_the_message_s_not_the_declaration_s(self) -> None:
        before = declaration().model_dump(mode="json")
        after = declaration(function_code=FunctionCode.CHANGE).model_dump(mode="json")
        assert changed_fields(before, after) == []

    def test_equal_bodies_change_nothing(self) -> None:
        body = declaration().model_dump(mode="json")
        assert changed_fields(body, body) == []
