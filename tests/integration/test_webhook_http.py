"""The webhook HTTP adapter against a real receiver on loopback: it resolves a host for the delivery to check, and
posts to the address it is given, never to what the host name resolves to at that moment."""

from collections.abc import AsyncIterator
from ipaddress import ip_address

import pytest

from services.gateway.adapters.webhook_http import DeliveryFailed, HttpSender
from tests.support.webhook_receiver import webhook_receiver

LOOPBACK = ip_address("127.0.0.1")


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    sending = HttpSender(timeout_seconds=5)
    yield sending
    await sending.close()


async def test_a_post_goes_to_the_address_given_and_names_the_host_of_the_url(sender: HttpSender) -> None:
    with webhook_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        # .invalid never resolves (RFC 6761): the request can only reach the receiver through the address given.
        url = f"http://receiver.invalid:{port}/hooks/single-window"
        status = await sender(url, b"{}", {"content-type": "application/json"}, [LOOPBACK])
        assert status == 204
        (received,) = receiver.snapshot()
    assert received.headers["host"] == f"receiver.invalid:{port}"


async def test_the_next_address_is_tried_when_one_does_not_connect(sender: HttpSender) -> None:
    with webhook_receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "receiver.invalid")
        # The receiver listens on 127.0.0.1 alone: ::1 (or 127.0.0.2, where IPv6 is off) does not answer.
        status = await sender(url, b"{}", {}, [ip_address("::1"), ip_address("127.0.0.2"), LOOPBACK])
        assert (status, len(receiver.snapshot())) == (204, 1)


async def test_no_answer_at_any_address_fails_the_delivery_naming_each(sender: HttpSender) -> None:
    with webhook_receiver() as receiver:
        url = receiver.url
    with pytest.raises(DeliveryFailed, match=r"ConnectError.*\(at 127\.0\.0\.1\)"):
        await sender(url, b"{}", {}, [LOOPBACK])


async def test_resolving_gives_the_addresses_of_the_host_or_the_ip_address_itself(sender: HttpSender) -> None:
    assert LOOPBACK in await sender.resolve("http://localhost:8080/hook")
    assert await sender.resolve("https://[::ffff:10.0.0.1]/hook") == [ip_address("::ffff:10.0.0.1")]
    with pytest.raises(DeliveryFailed, match=r"host nowhere\.invalid not resolved"):
        await sender.resolve("https://nowhere.invalid/hook")
