"""Who hears of a clearance change and what; webhook signatures, backoff, disabling, allowed targets and the
addresses a delivery may connect to."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

import pytest

from services.contract.events import ClearanceState, Reason
from services.gateway.domain.callers import Role
from services.gateway.domain.clearance import Clearance
from services.gateway.domain.notifications import (
    Consignment,
    Recipient,
    TargetPolicy,
    TargetRefused,
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

    def test_an_ipv4_mapped_address_is_the_ipv4_address_it_maps(self):
        policy = TargetPolicy(schemes=frozenset({"http"}), hosts=frozenset({"127.0.0.1"}))
        assert policy.problem("http://[::ffff:127.0.0.1]:9000/hook") is None
        assert policy.problem("http://[::ffff:10.0.0.1]/hook") is not None

    def test_check_names_the_host_or_refuses_with_the_reason(self):
        assert self.POLICY.check("https://HOOKS.example.org:8443/sw") == "hooks.example.org"
        with pytest.raises(TargetRefused, match=r"host erp\.example\.com is not on the webhook allow-list"):
            self.POLICY.check("https://erp.example.com/in")


class TestAddressesToCall:
    """A delivery connects only to an address the policy allows, whatever the host name resolved to."""

    POLICY = TargetPolicy(schemes=frozenset({"https"}), hosts=frozenset({"hooks.example.org", "*.erp.example.com"}))

    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",  # loopback
            "10.1.2.3",  # private
            "172.16.0.9",
            "192.168.1.1",
            "100.64.0.1",  # shared (carrier-grade NAT)
            "169.254.169.254",  # link-local: the cloud metadata service
            "0.0.0.0",
            "::1",  # IPv6 loopback
            "fd12:3456::1",  # unique local (fc00::/7)
            "fe80::1",  # IPv6 link-local
            "::ffff:127.0.0.1",  # IPv4-mapped loopback
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
            "2002:a00:1::1",  # 6to4 of 10.0.0.1
            "224.0.0.1",  # multicast
        ],
    )
    def test_an_address_that_is_not_public_is_refused(self, address):
        with pytest.raises(TargetRefused) as refused:
            self.POLICY.addresses_to_call("hooks.example.org", [ip_address(address)])
        assert str(refused.value) == (
            f"host hooks.example.org resolves to {ip_address(address)}: not a public address,"
            " and not an address on the webhook allow-list"
        )

    @pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:8.8.8.8"])
    def test_a_public_address_may_be_called(self, address):
        assert self.POLICY.addresses_to_call("hooks.example.org", [ip_address(address)]) == [ip_address(address)]

    def test_only_the_allowed_addresses_of_a_host_are_called(self):
        resolved = [ip_address("::1"), ip_address("93.184.215.14"), ip_address("10.0.0.5"), ip_address("::1")]
        assert self.POLICY.addresses_to_call("eu.erp.example.com", resolved) == [ip_address("93.184.215.14")]

    def test_an_address_listed_itself_may_be_called_though_not_public(self):
        policy = TargetPolicy(schemes=frozenset({"http"}), hosts=frozenset({"localhost", "127.0.0.1", "fd00::7"}))
        resolved = [ip_address("::1"), ip_address("127.0.0.1"), ip_address("::ffff:127.0.0.1"), ip_address("fd00::7")]
        assert policy.addresses_to_call("localhost", resolved) == [
            ip_address("127.0.0.1"),
            ip_address("::ffff:127.0.0.1"),
            ip_address("fd00::7"),
        ]

    def test_a_name_on_the_allow_list_does_not_allow_the_addresses_it_resolves_to(self):
        policy = TargetPolicy(schemes=frozenset({"http"}), hosts=frozenset({"localhost", "127.0.0.2"}))
        with pytest.raises(TargetRefused, match=r"host localhost resolves to 127\.0\.0\.1, ::1: not a public address"):
            policy.addresses_to_call("localhost", [ip_address("127.0.0.1"), ip_address("::1")])

    def test_a_host_without_an_address_is_refused(self):
        with pytest.raises(TargetRefused, match=r"host hooks\.example\.org resolves to no address"):
            self.POLICY.addresses_to_call("hooks.example.org", [])
