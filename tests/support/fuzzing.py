"""Property-based fuzzing of an OpenAPI document with schemathesis: requests generated for each operation, valid and
invalid, sent over HTTP with one persona's key, checked against the document, and counted for a report."""

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckContext, CheckFunction, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.artifacts import keep

Operation = APIOperation[Any, Any, Any, Any]
SEED = 20261123
"""Fixed, so that a failure found in CI comes back on a laptop; change it to explore elsewhere."""
STREAM_SECONDS = 1.0
"""How long an event stream is read, and the answer waited for: its first events, and time for a busy loop."""
# Each persona sends its own key; schemathesis would otherwise generate random ones.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)"
    r'|File "[^"\n]+", line \d+'
    r"|\b[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+\.[A-Z]\w*(?:Error|Exception|Exit)\b"
)
"""A traceback's header, one of its source lines, or an exception's dotted class path."""
GATE_STATUSES = frozenset({401, 403, 429})
"""Answers from before the handler: no key, a key of another role, over the rate."""


def no_stack_trace(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """An error body never shows the server's insides."""
    if response.status_code >= 400 and (found := STACK_TRACE.search(response.text)):
        raise AssertionError(f"the {response.status_code} body shows a stack trace: {found.group()!r}")
    return None


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    no_stack_trace,
]


@dataclass(frozen=True)
class Persona:
    """Who sends the cases: a name, the headers with its key, and the operations whose gate admits it ("GET /path")."""

    name: str
    headers: dict[str, str]
    admitted: frozenset[str]


@dataclass
class Tally:
    """What one persona's cases on one operation got."""

    positive: int = 0
    negative: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    """Each distinct failure (check, status, what was wrong), with how many cases hit it."""
    examples: dict[str, str] = field(default_factory=dict)
    """A command reproducing each failure."""

    def failed(self, failure: str, case: Case[Any], persona: Persona) -> None:
        self.failures[failure] += 1
        self.examples.setdefault(failure, case.as_curl_command(headers=dict(persona.headers)))

    @property
    def cases(self) -> int:
        return self.positive + self.negative

    @property
    def past_the_gate(self) -> int:
        return sum(count for status, count in self.statuses.items() if status not in GATE_STATUSES)

    def as_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "positive": self.positive,
            "negative": self.negative,
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "past_the_gate": self.past_the_gate,
            "failures": [
                {"failure": failure, "cases": count, "reproduce": self.examples[failure]}
                for failure, count in self.failures.items()
            ],
        }


def takes_input(operation: Operation) -> bool:
    """Whether requests to the operation can differ at all: it has parameters or a body."""
    return any(True for _ in operation.iter_parameters()) or bool(operation.body)


def streams(operation: Operation) -> bool:
    """Whether the operation answers with server-sent events, a body that never ends."""
    responses = operation.definition.raw["responses"].values()
    return any("text/event-stream" in response.get("content", {}) for response in responses)


class Fuzzer:
    """Sends `cases` generated requests per operation and generation mode (valid, invalid) to a served API, each
    request once as every persona: the same inputs with each key, and the cost of generating them paid once.

    Path ids in `known_ids` (a parameter name to the id of something that exists) replace the generated ones in
    about half of the valid cases, so that handlers get past "not found" to the code behind it."""

    def __init__(
        self, spec: dict[str, Any], base_url: str, *, personas: list[Persona], cases: int, known_ids: Mapping[str, str]
    ) -> None:
        self.schema = schemathesis.openapi.from_dict(spec, config=CONFIG)
        self.operations: list[Operation] = [
            self.schema[path][method] for path, methods in spec["paths"].items() for method in methods
        ]
        self.base_url = base_url
        self.personas = personas
        self.cases = cases
        self.known_ids = dict(known_ids)

    def run(self) -> dict[str, dict[str, Tally]]:
        """Each persona's tallies by operation ("GET /path")."""
        tallies = {
            persona.name: {operation.label: Tally() for operation in self.operations} for persona in self.personas
        }
        with requests.Session() as session:
            for operation in self.operations:
                # Without parameters or a body, no request is invalid.
                modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if takes_input(operation) else []
                for mode in modes or [GenerationMode.POSITIVE]:
                    self._generate(operation, mode, partial(self._send, mode=mode, session=session, tallies=tallies))
        return tallies

    def _generate(self, operation: Operation, mode: GenerationMode, send: Callable[[Case[Any]], None]) -> None:
        strategy = operation.as_strategy(generation_mode=mode)
        if mode is GenerationMode.POSITIVE:
            strategy = st.tuples(strategy, st.booleans()).map(self._with_known_ids)

        @seed(SEED)
        @settings(
            max_examples=self.cases,
            phases=[Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def each(case: Case[Any]) -> None:
            send(case)

        each()

    def _with_known_ids(self, drawn: tuple[Case[Any], bool]) -> Case[Any]:
        case, known = drawn
        if known:
            for name in case.path_parameters or {}:
                if name in self.known_ids:
                    case.path_parameters[name] = self.known_ids[name]
        return case

    def _send(
        self, case: Case[Any], *, mode: GenerationMode, session: requests.Session, tallies: dict[str, dict[str, Tally]]
    ) -> None:
        timeout = STREAM_SECONDS if streams(case.operation) else 30
        for persona in self.personas:
            tally = tallies[persona.name][case.operation.label]
            if mode is GenerationMode.NEGATIVE:
                tally.negative += 1
            else:
                tally.positive += 1
            try:
                # A copy: schemathesis adds to the dict it is given, and the keyholders' dicts are shared.
                response = case.call(
                    base_url=self.base_url, session=session, headers=dict(persona.headers), timeout=timeout
                )
            except requests.RequestException as exc:
                tally.failed(f"no answer: {type(exc).__name__}", case, persona)
                continue
            tally.statuses[response.status_code] += 1
            checks = [*CHECKS, gate_holds(case.operation.label in persona.admitted)]
            try:
                case.validate_response(response, checks=checks, headers=dict(persona.headers))
            except FailureGroup as group:
                for failure in group.exceptions:
                    what = f"{failure.title}: {failure.message}".replace("\n", " ")[:300]
                    tally.failed(f"{response.status_code} {what}", case, persona)


def gate_holds(admitted: bool) -> CheckFunction:
    """A persona the operation's gate refuses never gets a success."""

    def gate_refuses_others(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        if not admitted and response.status_code < 300:
            raise AssertionError(f"a persona the gate refuses got {response.status_code}")
        return None

    return gate_refuses_others


@dataclass
class Report:
    """Every persona's tallies per operation, written as JSON and Markdown."""

    cases_per_mode: int
    seconds: float = 0.0
    personas: dict[str, dict[str, Tally]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(tally.cases for tallies in self.personas.values() for tally in tallies.values())

    @property
    def failures(self) -> list[str]:
        return [
            f"{name}: {operation}: {failure} ({count} cases)"
            for name, tallies in self.personas.items()
            for operation, tally in tallies.items()
            for failure, count in tally.failures.items()
        ]

    def summary(self) -> str:
        personas = len(self.personas)
        operations = len(next(iter(self.personas.values()), {}))
        return (
            f"schemathesis {schemathesis.__version__}: {self.total} cases on {operations} operations as {personas} "
            f"personas ({self.cases_per_mode} per operation and mode) in {self.seconds:.0f} s, "
            f"{len(self.failures)} failures"
        )

    def write(self, name: str) -> None:
        """The counts as test-artifacts/`name`.json and .md."""
        document = {
            "schemathesis": schemathesis.__version__,
            "seed": SEED,
            "cases_per_operation_and_mode": self.cases_per_mode,
            "total_cases": self.total,
            "seconds": round(self.seconds, 1),
            "failures": self.failures,
            "personas": {
                persona: {operation: tally.as_json() for operation, tally in tallies.items()}
                for persona, tallies in self.personas.items()
            },
        }
        keep(f"{name}.json", json.dumps(document, indent=2) + "\n")
        keep(f"{name}.md", self.markdown())

    def markdown(self) -> str:
        lines = [
            "# OpenAPI fuzzing",
            "",
            self.summary() + f"; seed {SEED}.",
            "",
            "| persona | cases | past the gate (not 401, 403, 429) | failures |",
            "| --- | --- | --- | --- |",
        ]
        for persona, tallies in self.personas.items():
            cases = sum(tally.cases for tally in tallies.values())
            past = sum(tally.past_the_gate for tally in tallies.values())
            failures = sum(sum(tally.failures.values()) for tally in tallies.values())
            lines.append(f"| {persona} | {cases} | {past} | {failures} |")
        lines += [
            "",
            "Cases per operation (valid + invalid), and the answers they got:",
            "",
            "| persona | operation | cases | statuses | failures |",
            "| --- | --- | --- | --- | --- |",
        ]
        for persona, tallies in self.personas.items():
            for operation, tally in tallies.items():
                statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
                lines.append(
                    f"| {persona} | `{operation}` | {tally.positive} + {tally.negative} | {statuses} | "
                    f"{sum(tally.failures.values())} |"
                )
        lines += ["", "## Failures", ""]
        lines += [f"- {failure}" for failure in self.failures] or ["None."]
        return "\n".join(lines) + "\n"
