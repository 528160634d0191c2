"""Who hears of a clearance change and what; webhook signatures, backoff, disabling and allowed targets."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from services.contract.events import ClearanceState, Reason
from services.gateway.domain.callers import Role
from services.gateway.domain.clearance import Clearance
from services.gateway.domain.notifications import (
    Consignment,
    Recipient,
    TargetPolicy,
    clearance_notices,
    new_secret,
    retry_delay,
    should_disable,
    signature,
)

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
GOODS = Consignment(
    declaration_id="01JD0000000000000000000001",
    lrn="LRN-1",
    version=2,
    declarant_id="GB123456789000",
    importer_id="GB987654321000",
    carrier=None,
    transport_reference=None,
    location=None,
)
PRESENTED = Consignment(**{**GOODS.__dict__, "carrier": "GBDVR-FERRYPORT", "transport_reference": "P&O Pioneer"})


def clearance(state: ClearanceState) -> Clearance:
    return Clearance(state, (), (Reason(code="CERTIFICATE_AWAITED", text="waiting", agency="phyto"),))


class TestClearanceNotices:
    def test_declarant_and_importer_each_hear_every_change_with_reasons(self):
        notices = clearance_notices(GOODS, clearance(ClearanceState.PARTIALLY_HELD), AT)
        assert [n.recipient for n in notices] == [
            Recipient(Role.TRADER, "GB123456789000"),
            Recipient(Role.TRADER, "GB987654321000"),
        ]
        assert notices[0].type == "clearance.changed"
        assert notices[0].data == {
            "declaration_id": GOODS.declaration_id,
            "lrn": "LRN-1",
            "declaration_version": 2,
            "state": "partially_held",
            "status": "held",
            "reasons": [{"code": "CERTIFICATE_AWAITED", "text": "waiting", "agency": "phyto"}],
            "at": AT.isoformat(),
        }

    def test_a_declarant_importing_for_itself_hears_once(self):
        itself = Consignment(**{**GOODS.__dict__, "importer_id": GOODS.declarant_id})
        assert len(clearance_notices(itself, clearance(ClearanceState.ACCEPTED), AT)) == 1

    @pytest.mark.parametrize("state", [ClearanceState.RELEASED, ClearanceState.REFUSED, ClearanceState.CANCELLED])
    def test_the_carrier_hears_whether_it_may_move_the_goods_without_trade_details(self, state):
        notices = clearance_notices(PRESENTED, clearance(state), AT)
        carrier = [n for n in notices if n.recipient.role is Role.CARRIER]
        assert [n.recipient.subject for n in carrier] == ["GBDVR-FERRYPORT"]
        assert carrier[0].data == {
            "declaration_id": GOODS.declaration_id,
            "transport_reference": "P&O Pioneer",
            "location": None,
            "state": state.value,
            "status": state.status.value,
            "at": AT.isoformat(),
        }

    @pytest.mark.parametrize(
        "state", [ClearanceState.SUBMITTED, ClearanceState.UNDER_CONTROL, ClearanceState.PARTIALLY_HELD]
    )
    def test_the_carrier_does_not_hear_of_controls_in_progress(self, state):
        assert all(n.recipient.role is Role.TRADER for n in clearance_notices(PRESENTED, clearance(state), AT))

    def test_no_carrier_hears_before_the_goods_are_presented(self):
        notices = clearance_notices(GOODS, clearance(ClearanceState.RELEASED), AT)
        assert all(n.recipient.role is Role.TRADER for n in notices)


class TestSignature:
    def test_is_the_standard_webhooks_hmac_of_id_timestamp_and_body(self):
        secret = new_secret()
        body = b'{"id":"01J","type":"clearance.changed"}'
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()).decode()
        assert signature(secret, "msg_1", 1700000000, body) == f"v1,{expected}"

    def test_changes_with_the_timestamp_the_id_the_body_and_the_secret(self):
        secret = new_secret()
        first = signature(secret, "msg_1", 1700000000, b"{}")
        assert first != signature(secret, "msg_1", 1700000001, b"{}")
        assert first != signature(secret, "msg_2", 1700000000, b"{}")
        assert first != signature(secret, "msg_1", 1700000000, b"{ }")
        assert first != signature(new_secret(), "msg_1", 1700000000, b"{}")

    def test_secrets_are_32_random_bytes_and_differ(self):
        secret = new_secret()
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert secret != new_secret()


class TestRetryDelay:
    def test_doubles_from_the_base_up_to_the_cap(self):
        base, cap = timedelta(seconds=2), timedelta(seconds=30)
        delays = [retry_delay(n, base=base, cap=cap).total_seconds() for n in range(1, 7)]
        assert delays == [2, 4, 8, 16, 30, 30]

    def test_a_huge_attempt_number_stays_at_the_cap(self):
        assert retry_delay(10_000, base=timedelta(seconds=1), cap=timedelta(hours=1)) == timedelta(hours=1)


class TestShouldDisable:
    WINDOW = timedelta(minutes=10)

    def test_disables_at_the_limit_within_the_window(self):
        failures = [AT - timedelta(minutes=m) for m in (9, 5, 1)]
        assert should_disable(failures, AT, limit=3, window=self.WINDOW)
        assert not should_disable(failures[1:], AT, limit=3, window=self.WINDOW)

    def test_failures_older_than_the_window_do_not_count(self):
        failures = [AT - timedelta(minutes=m) for m in (11, 30, 1)]
        assert not should_disable(failures, AT, limit=2, window=self.WINDOW)


class TestTargetPolicy:
    POLICY = TargetPolicy(schemes=frozenset({"https"}), hosts=frozenset({"hooks.example.org", "*.erp.example.com"}))

    @pytest.mark.parametrize(
        "url",
        ["https://hooks.example.org/sw", "https://HOOKS.example.org:8443/sw?x=1", "https://eu.erp.example.com/in"],
    )
    def test_allowed(self, url):
        assert self.POLICY.problem(url) is None

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            ("http://hooks.example.org/sw", "scheme http is not allowed (allowed: https)"),
            ("https://erp.example.com/in", "host erp.example.com is not on the webhook allow-list"),
            ("https://hooks.example.org.evil.net/", "host hooks.example.org.evil.net is not on the webhook allow-list"),
            ("https://evilerp.example.com/", "host evilerp.example.com is not on the webhook allow-list"),
            ("https://10.0.0.5/", "host 10.0.0.5 is not on the webhook allow-list"),
            ("https://[::1]/", "host ::1 is not on the webhook allow-list"),
            ("https://me:pw@hooks.example.org/", "credentials in the URL are not allowed"),
            ("https://hooks.example.org/#top", "a fragment is not allowed"),
            ("https:///path-only", "the URL has no host"),
            ("https://hooks.example.org:99999/", "not a valid URL"),
            ("hooks.example.org/sw", "scheme (none) is not allowed"),
        ],
    )
    def test_refused_with_the_reason(self, url, why):
        problem = self.POLICY.problem(url)
        assert problem is not None
        assert problem.startswith(why), problem

    def test_an_ip_address_is_allowed_only_when_listed_itself(self):
        policy = TargetPolicy(schemes=frozenset({"http"}), hosts=frozenset({"127.0.0.1", "*.0.0.1"}))
        assert policy.problem("http://127.0.0.1:9000/hook") is None
        assert policy.problem("http://10.0.0.1/hook") is not None

    def test_an_empty_allow_list_allows_nothing(self):
        assert TargetPolicy(schemes=frozenset({"https"}), hosts=frozenset()).problem("https://a.example/") is not None
