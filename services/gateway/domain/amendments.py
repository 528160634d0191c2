"""What a trader may change on a lodged declaration, and when (pure).

Before release a declaration is amended (a new version every agency decides on afresh) or cancelled. After
release it is only corrected: the correction is recorded beside the released version, which stands.
"""

from enum import StrEnum
from typing import Any

from services.contract.declaration import Declaration, FunctionCode
from services.contract.events import ClearanceStatus


class Change(StrEnum):
    AMENDMENT = "amendment"
    CANCELLATION = "cancellation"
    CORRECTION = "correction"


_CHANGES_A_LODGED_DECLARATION = {FunctionCode.CHANGE, FunctionCode.REPLACE}


def refusal(change: Change, status: ClearanceStatus) -> str | None:
    """Why `change` cannot be made to a declaration in `status`; None when it can."""
    if status is ClearanceStatus.CANCELLED:
        return "it is cancelled: lodge a new declaration instead"
    released = status is ClearanceStatus.RELEASED
    if change is Change.AMENDMENT and released:
        return "it is released: record a post-clearance correction (POST .../corrections) instead"
    if change is Change.CANCELLATION and released:
        return "released goods cannot be cancelled: record a post-clearance correction (POST .../corrections)"
    if change is Change.CORRECTION and not released:
        return f"it is {status.value}, not released: amend it (POST .../amendments) instead"
    return None


def problem_with_body(change: Change, current: Declaration, new: Declaration) -> tuple[str, str] | None:
    """(field, why) when a new version of `current` cannot be `new`; None when it can."""
    if new.lrn != current.lrn:
        return "lrn", f"an {change.value} keeps the declaration's LRN {current.lrn!r}"
    if new.function_code not in _CHANGES_A_LODGED_DECLARATION:
        return "function_code", (
            f"an {change.value} is sent with function code {FunctionCode.CHANGE.value} (change) or "
            f"{FunctionCode.REPLACE.value} (replace), not {new.function_code.value}"
        )
    return None


def changed_fields(before: Any, after: Any, path: str = "") -> list[str]:
    """Dotted paths (list items by index) where two JSON values differ; the function code is the message's
    own and is left out."""
    if isinstance(before, dict) and isinstance(after, dict):
        changed = []
        for key in sorted(before.keys() | after.keys()):
            if not path and key == "function_code":
                continue
            changed += changed_fields(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return changed
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            change
            for index, (old, new) in enumerate(zip(before, after, strict=True))
            for change in changed_fields(old, new, f"{path}.{index}")
        ]
    return [] if before == after else [path]
