"""The operator's command: `python -m services.operator <command>` (or `sw-ops <command>`).

    topics [--service S]                      create the topics (and dead-letter topics) that do not exist yet
    lag [--service S]                         consumer lag of every group, per topic and partition
    replay --dead-letter-topic T [--service S] [--group G]
                                              put dead letters back on the topic they came from
    rules check|reload --service S [--pid N]  load a service's rule files as it would; reload signals it (SIGHUP)
    audit verify                              check the audit trail's chain against its anchors on Kafka
    keys create|list|revoke ...               API keys (see `keys --help`)

Each command reads the settings of the service it acts as (`--service`, default gateway) from that service's
SW_<SERVICE>_* variables, so it reaches the same broker (with the same TLS and SASL) and database.
"""

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from services.contract.kafka import consumer_lag, ensure_topics, topic_names
from services.contract.keyed_draw import KeyedDraw, MissingDrawKey
from services.contract.replay import replay
from services.contract.rules_file import RulesFileError, load_rules
from services.contract.settings import ServiceSettings
from services.customs.adapters.rulebook_files import load_rulebook, selectivity_key
from services.customs.domain.rulebook import RulebookError
from services.customs.settings import CustomsSettings
from services.gateway.domain.routing import RoutingTable
from services.gateway.entrypoints import audit, keys
from services.gateway.settings import GatewaySettings
from services.phyto.adapters.rules_files import load_requirements
from services.phyto.settings import PhytoSettings

SERVICES = ("gateway", "customs", "phyto")
PROCESS_NAMES = {service: (f"services.{service}", f"sw-{service}") for service in SERVICES}
"""How each service's processes are recognised on this machine (a module or a script name)."""


def _settings(service: str) -> ServiceSettings:
    return ServiceSettings.load(env_prefix=f"SW_{service.upper()}_")


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


async def _topics(settings: ServiceSettings) -> int:
    created = set(await ensure_topics(settings))
    for name in topic_names(settings):
        _out(f"{name:40} {'created' if name in created else 'exists'}")
    return 0


async def _lag(settings: ServiceSettings) -> int:
    rows = await consumer_lag(settings)
    _out(f"{'group':32} {'topic':32} {'partition':>9} {'committed':>10} {'end':>10} {'lag':>8}")
    for row in rows:
        _out(f"{row.group:32} {row.topic:32} {row.partition:>9} {row.committed:>10} {row.end:>10} {row.behind:>8}")
    _out(f"total lag {sum(row.behind for row in rows)} over {len(rows)} partition(s)")
    return 0


def _rule_versions(service: str) -> dict[str, str]:
    """The versions of a service's rule files, loaded with its settings as it loads them on SIGHUP."""
    if service == "customs":
        settings = CustomsSettings.load()
        draw = KeyedDraw(selectivity_key(settings, create=False))
        return load_rulebook(settings, draw).versions
    if service == "gateway":
        return {"routing": load_rules(GatewaySettings.load().routing_table, RoutingTable).version}
    return {"import_requirements": load_requirements(PhytoSettings.load()).version}


def _rules(command: str, service: str, pid: int | None) -> int:
    try:
        versions = _rule_versions(service)
    except (RulesFileError, RulebookError, MissingDrawKey, OSError) as exc:
        _out(f"the rule files do not load; nothing was reloaded: {exc}")
        return 1
    _out("the rule files load: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    if command == "check":
        return 0
    targets = [pid] if pid is not None else _processes(PROCESS_NAMES[service])
    if not targets:
        _out(f"no {service} process found on this machine; give --pid, or signal it where it runs (SIGHUP)")
        return 1
    for target in targets:
        os.kill(target, signal.SIGHUP)
        _out(f"asked {service} (pid {target}) to reload; its log says which versions are in force")
    return 0


def _processes(names: tuple[str, ...]) -> list[int]:
    """Pids of local processes whose command line runs one of `names` (a module or a script)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [argument.decode(errors="replace") for argument in arguments]
        if any(word in names or Path(word).name in names for word in words) and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sw-ops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("topics", "create the topics that do not exist yet"), ("lag", "consumer lag per partition")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--service", choices=SERVICES, default="gateway", help="act with its settings")
    again = commands.add_parser("replay", help="put dead letters back on their topic")
    again.add_argument("--service", choices=SERVICES, default="gateway", help="act with its settings")
    again.add_argument("--dead-letter-topic", required=True, help="e.g. decisions.dlq (with the topic prefix)")
    again.add_argument("--group", default=None, help="consumer group remembering what was replayed")
    rules = commands.add_parser("rules", help="check or reload a service's rule files")
    rules.add_argument("action", choices=["check", "reload"])
    rules.add_argument("--service", choices=SERVICES, required=True)
    rules.add_argument("--pid", type=int, default=None, help="the process to signal (default: every local one)")
    commands.add_parser("audit", help="the audit trail (audit verify)", add_help=False)
    commands.add_parser("keys", help="API keys (keys create|list|revoke)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["keys"]:
        return keys.main(arguments[1:])
    if arguments[:1] == ["audit"]:
        return audit.main(arguments[1:])
    args = _parser().parse_args(arguments)
    if args.command == "rules":
        return _rules(args.action, args.service, args.pid)
    settings = _settings(args.service)
    if args.command == "topics":
        return asyncio.run(_topics(settings))
    if args.command == "lag":
        return asyncio.run(_lag(settings))
    count = asyncio.run(replay(settings, args.dead_letter_topic, group_id=args.group))
    _out(f"replayed {count} record(s) from {args.dead_letter_topic}")
    return 0
