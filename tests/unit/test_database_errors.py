"""Telling an unreachable database (wait, answer 503) from a refused statement (a real error)."""

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from services.contract.database import is_unavailable


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (DBAPIError("connect", None, DriverError("57P03")), True),  # the database system is shutting down
        (DBAPIError("connect", None, DriverError("57P01")), True),  # terminating connection: admin shutdown
        (DBAPIError("SELECT 1", None, DriverError("08006")), True),  # connection failure
        (OperationalError("SELECT 1", None, Exception("disk I/O error")), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (IntegrityError("INSERT", None, DriverError("23505")), False),  # unique violation: the statement's fault
        (DBAPIError("SELECT", None, DriverError("42P01")), False),  # undefined table: a bug, not an outage
        (ValueError("not a database error"), False),
    ],
    ids=["shutting-down", "admin-shutdown", "connection-failure", "operational", "refused", "unique", "bug", "other"],
)
def test_only_an_unreachable_database_counts_as_unavailable(error: BaseException, unavailable: bool) -> None:
    assert is_unavailable(error) is unavailable
