"""Verify the gateway's audit trail: recompute its hash chain and compare it with the anchors on Kafka.

    python -m services.gateway.entrypoints.audit verify

Reads SW_GATEWAY_DATABASE_URL, SW_GATEWAY_KAFKA_BOOTSTRAP and SW_GATEWAY_TOPIC_PREFIX. Finds a record edited,
deleted or moved after it was sealed, and a trail truncated or rewritten behind an anchor. Exits 1 when it finds
anything, naming each record; records not sealed yet (the sealer runs every SW_GATEWAY_AUDIT_SEAL_MS) are counted
apart.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence

from services.contract.database import create_engine
from services.gateway.adapters import audit_store
from services.gateway.adapters.audit_anchors import published_anchors
from services.gateway.domain.audit import problems
from services.gateway.settings import GatewaySettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("verify", help="check the chain and the anchors")
    parser.parse_args(argv)
    return asyncio.run(verify(GatewaySettings.load()))


async def verify(settings: GatewaySettings) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            trail = await audit_store.trail(connection)
            waiting = await audit_store.unsealed_count(connection)
    finally:
        await engine.dispose()
    anchors = await published_anchors(settings)
    found = problems(trail, anchors)
    latest = max((anchor.position for anchor in anchors), default=0)
    sys.stdout.write(
        f"audit trail: {len(trail)} records sealed, {waiting} not sealed yet; "
        f"{len(anchors)} anchors on Kafka, the latest at record {latest}\n"
    )
    for problem in found:
        sys.stdout.write(f"PROBLEM: {problem}\n")
    sys.stdout.write("the trail is intact\n" if not found else f"{len(found)} problem(s) found\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
