"""Customs risk engine throughput on one core: declarations assessed per second by the compiled engine, with
the naive reference as the peer, on a generated profile of hundreds of rules of every kind.

    python -m bench.risk_engine            # full run, about a minute
    python -m bench.risk_engine --quick    # a few seconds, for CI
"""

import argparse
import gc
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from services.contract.declaration import Declaration
from services.contract.keyed_draw import KeyedDraw
from services.contract.rules_file import load_rules
from services.customs.domain.exchange_rates import ExchangeRates
from services.customs.domain.facts import DeclarationFacts, facts_of
from services.customs.domain.lanes import Lane
from services.customs.domain.risk import RiskProfile
from services.customs.domain.risk_engine import RANDOM_RULE, Assessment, RiskEngine, assess_naively
from services.customs.domain.rulebook import Rulebook
from services.customs.domain.tariff import Tariff
from services.customs.domain.traders import TraderRegister
from services.customs.domain.watch_lists import WatchLists
from services.customs.settings import DATA

TARGET = 20_000
"""Declarations per second per core the compiled engine must reach on prebuilt facts (the issue's target)."""
ON = date(2026, 11, 20)
RESULTS = Path(__file__).parent / "results"
KEY = b"bench-random-selection-key-0123456789"

T = TypeVar("T")

# The share of each kind of rule in the generated profile. Threshold rules (value, net or gross mass) are 28%,
# mostly combined with a commodity or origin as real profiles do; pure thresholds have high minimums.
RECIPE: tuple[tuple[str, float], ...] = (
    ("commodity", 0.18),
    ("commodity+origin", 0.27),
    ("commodity+documents", 0.09),
    ("commodity+value", 0.14),
    ("commodity+net_mass", 0.04),
    ("commodity+gross_mass", 0.03),
    ("origin+value", 0.04),
    ("origin", 0.01),
    ("value", 0.01),
    ("net_mass", 0.01),
    ("gross_mass", 0.01),
    ("trader", 0.06),
    ("trader+commodity", 0.03),
    ("watch_list", 0.01),
    ("valuation", 0.004),
    ("valuation+commodity", 0.03),
    ("valuation+origin", 0.016),
    ("refuse", 0.02),
)
ORIGINS: dict[str, float] = {
    "CN": 20, "US": 8, "IN": 6, "VN": 6, "TR": 5, "DE": 5, "NL": 5, "TH": 4, "BD": 4, "KE": 3, "ZA": 3,
    "CL": 3, "PE": 3, "MA": 3, "BR": 3, "JP": 3, "CA": 3, "MX": 2, "ID": 2, "MY": 2, "PK": 2, "LK": 2,
    "EG": 2, "CO": 2, "EC": 2, "NZ": 2, "KR": 2, "IT": 2, "ES": 2, "FR": 2, "CM": 1, "GH": 1, "NG": 1,
    "ET": 1, "UG": 1, "TZ": 1, "RU": 0.3, "BY": 0.2, "VE": 0.2, "MM": 0.2, "AF": 0.1, "LY": 0.1, "YE": 0.05,
    "IR": 0.05, "SY": 0.05, "KP": 0.02,
}  # fmt: skip
EMBARGOED = ("KP", "SY", "IR")
CURRENCIES: dict[str, float] = {
    "GBP": 15,
    "EUR": 35,
    "USD": 30,
    "CNY": 8,
    "INR": 3,
    "JPY": 3,
    "ZAR": 2,
    "KES": 2,
    "CAD": 2,
}
ITEM_DOCUMENTS = ("C400", "N851", "N853", "C640", "Y929")
VALUE_MINIMUMS = (10_000, 25_000, 50_000, 100_000, 250_000)
WATCHED_NAMES = {"sanctions-screening": "Oceanic Shell Exports", "undervaluation": "Cheap Goods Export Ltd"}
WATCHED_IDS = {"sanctions-screening": "GB555555555000", "undervaluation": "GB444444444000"}
PARTNER_EXPORTERS = ("US123456789", "CA987654321", "JP1234567890")
AEO_TRADERS = ("GB987654321000", "XI553202734852")
KINDS = ("commodity", "origin", "trader", "value", "weight", "watch_list", "document", "valuation")
"""Every kind of condition a rule can state (RiskRule.kinds)."""


@dataclass(frozen=True)
class Shipped:
    """The shipped reference data the generated profile is used with."""

    tariff: Tariff
    rates: ExchangeRates
    register: TraderRegister
    watch_lists: WatchLists


def shipped_reference() -> Shipped:
    return Shipped(
        tariff=load_rules(DATA / "tariff.yaml", Tariff),
        rates=load_rules(DATA / "exchange-rates.yaml", ExchangeRates),
        register=load_rules(DATA / "trader-register.yaml", TraderRegister),
        watch_lists=load_rules(DATA / "watch-lists.yaml", WatchLists),
    )


# --- The generated workload -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goods:
    """The commodity codes declarations use, all under a measure of the shipped tariff, with typical prices."""

    codes: tuple[str, ...]
    """8 digits, or 10 with the TARIC code."""
    weights: tuple[float, ...]
    """Cumulative popularity (Zipf-like), for random.choices."""
    price_per_kg: dict[str, float]
    """Typical customs value per kg in GBP, by HS6 code."""
    elsewhere: tuple[str, ...]
    """Codes of chapters the tariff does not cover: rules on them are in the profile but never hit."""


def goods(rng: random.Random, tariff: Tariff, per_measure: int = 80) -> Goods:
    codes: set[str] = set()
    for measure in tariff.measures:
        for _ in range(per_measure):
            code = measure.code + "".join(rng.choice("0123456789") for _ in range(8 - len(measure.code)))
            codes.add(code + (rng.choice(("00", "10", "20", "90")) if rng.random() < 0.15 else ""))
    ordered = sorted(codes)
    rng.shuffle(ordered)
    covered = {measure.code[:2] for measure in tariff.measures}
    chapters = [f"{chapter:02d}" for chapter in range(1, 98) if f"{chapter:02d}" not in covered]
    elsewhere = tuple(rng.choice(chapters) + f"{rng.randrange(10**6):06d}" for _ in range(len(ordered)))
    prices = {code[:6]: math.exp(rng.gauss(math.log(8), 0.8)) for code in ordered}
    return Goods(tuple(ordered), tuple(_cumulative(len(ordered), 0.8)), prices, elsewhere)


def _counts(total: int) -> dict[str, int]:
    """How many rules of each recipe entry, adding up to total (largest remainders)."""
    exact = {kind: share * total for kind, share in RECIPE}
    counts = {kind: int(value) for kind, value in exact.items()}
    for kind in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


def profile(rng: random.Random, total: int, catalogue: Goods, traders: Sequence[str]) -> RiskProfile:
    """A profile of `total` rules in the proportions of RECIPE, with valuation bands and random selection."""
    origins = [origin for origin in ORIGINS if origin not in EMBARGOED]
    hs6s = sorted({code[:6] for code in catalogue.codes})
    banded = rng.sample(hs6s, min(len(hs6s), max(10, total // 4)))
    bands: list[dict[str, Any]] = []
    for hs6 in banded:
        price = catalogue.price_per_kg[hs6]
        if rng.random() < 0.3:
            specific = rng.sample(origins, rng.randint(1, 2))
            bands.append(_band(hs6, price * 0.15, price * 2.4, specific))
        bands.append(_band(hs6, price / 4, price * 4, []))

    def prefixes(lengths: dict[int, float], from_goods: float) -> list[str]:
        chosen = []
        for _ in range(rng.choices((1, 2, 3), (70, 20, 10))[0]):
            pool = catalogue.codes if rng.random() < from_goods else catalogue.elsewhere
            length = rng.choices(list(lengths), list(lengths.values()))[0]
            chosen.append(rng.choice(pool)[:length])
        return chosen

    # Prefix lengths: narrow for rules on a commodity alone, medium when another condition narrows the rule,
    # broad (chapters, headings) only for valuation-band rules.
    narrow = {6: 0.35, 7: 0.1, 8: 0.55}
    medium = {4: 0.25, 5: 0.05, 6: 0.35, 7: 0.05, 8: 0.3}
    broad = {2: 0.3, 3: 0.1, 4: 0.6}
    rare = [origin for origin, weight in ORIGINS.items() if weight < 1 and origin not in EMBARGOED]
    rules: list[dict[str, Any]] = []
    for kind, count in _counts(total).items():
        parts = kind.split("+")
        combined = len(parts) > 1
        for number in range(count):
            rule: dict[str, Any] = {
                "id": f"G-{kind.upper().replace('+', '-').replace('_', '-')}-{number:04d}",
                "lane": rng.choices(("red", "yellow", "blue"), (30, 50, 20))[0],
                "reason": f"generated {kind} rule {number}",
                "aeo_relief": rng.random() < 0.8,
            }
            if "commodity" in parts:
                widths = narrow if kind in ("commodity", "commodity+documents") else medium
                rule["commodity_prefixes"] = prefixes(broad if "valuation" in parts else widths, 0.12)
            if "origin" in parts:
                # Origin alone singles out a few high-risk origins; with another condition, any origin.
                chosen = rng.choices((1, 2, 3), (60, 30, 10))[0]
                rule["origin_countries"] = rng.sample(origins if combined else rare, chosen)
            if "documents" in parts:
                rule["without_documents"] = rng.sample(ITEM_DOCUMENTS, rng.choice((1, 1, 2)))
            if "value" in parts:
                minimums = VALUE_MINIMUMS[2:] if "origin" in parts else VALUE_MINIMUMS
                rule["min_item_value"] = rng.choice(minimums if combined else (250_000, 500_000, 1_000_000))
            if "net_mass" in parts:
                rule["min_net_mass_kg"] = rng.choice((2_000, 5_000, 10_000) if combined else (20_000, 50_000))
            if "gross_mass" in parts:
                rule["min_gross_mass_kg"] = rng.choice((5_000, 10_000, 24_000) if combined else (24_000, 40_000))
            if "trader" in parts:
                rule["traders"] = rng.sample(traders, rng.choice((1, 1, 2, 3)))
            if "watch_list" in parts:
                rule["watch_list"] = rng.choice(sorted(WATCHED_IDS))
                if rng.random() < 0.5:
                    rule["origin_countries"] = rng.sample(origins, 3)
            if "valuation" in parts:
                rule["outside_valuation_band"] = True
            if kind == "refuse":
                rule |= {"refuse": True, "aeo_relief": False, "lane": "red"}
                if rng.random() < 0.5:
                    rule["origin_countries"] = [rng.choice(EMBARGOED)]
                else:
                    rule["commodity_prefixes"] = prefixes(narrow, 0.05)
            rules.append(rule)
    rng.shuffle(rules)
    shipped = load_rules(DATA / "risk-profile.yaml", RiskProfile)
    return RiskProfile.model_validate(
        {
            "version": f"bench-{total}",
            "effective_from": date(2026, 11, 1),
            "random_selection": shipped.random_selection,
            "aeo": shipped.aeo,
            "mutual_recognition": shipped.mutual_recognition,
            "valuation_bands": bands,
            "rules": rules,
        }
    )


def _band(hs6: str, low: float, high: float, origins: list[str]) -> dict[str, Any]:
    return {"hs6": hs6, "origin_countries": origins, "low": _money(low), "high": _money(max(high, low + 0.01))}


def _money(amount: float) -> Decimal:
    return Decimal(f"{amount:.2f}")


def national_traders(rng: random.Random, count: int = 4_000) -> list[str]:
    """Importer and declarant identifiers, most popular first; the register's AEO traders are popular."""
    ids = {f"GB{rng.randrange(10**11, 10**12)}" for _ in range(count)}
    return [*AEO_TRADERS, *sorted(ids)]


def declarations(
    rng: random.Random, count: int, items: int, catalogue: Goods, traders: Sequence[str], rates: ExchangeRates
) -> list[Declaration]:
    per_gbp = {currency: rate for period in rates.periods for currency, rate in period.rates.items()}
    per_gbp[rates.currency] = Decimal(1)
    trader_weights = _cumulative(len(traders), 0.7)
    brokers = traders[2:52]
    origins, origin_weights = list(ORIGINS), list(ORIGINS.values())
    currencies, currency_weights = list(CURRENCIES), list(CURRENCIES.values())
    made = []
    for number in range(count):
        importer = rng.choices(traders, cum_weights=trader_weights)[0]
        if rng.random() < 0.003:
            importer = rng.choice(list(WATCHED_IDS.values()))
        declarant = rng.choice(brokers) if rng.random() < 0.4 else importer
        origin = rng.choices(origins, origin_weights)[0]
        exporter: dict[str, Any]
        draw = rng.random()
        if draw < 0.03:
            exporter = {"id": rng.choice(PARTNER_EXPORTERS)}
        elif draw < 0.25:
            exporter = {"id": f"{origin}{rng.randrange(10**9):09d}"}
        else:
            name = (
                rng.choice(list(WATCHED_NAMES.values())) if rng.random() < 0.005 else f"Exporter {rng.randrange(3000)}"
            )
            exporter = {"name": name, "address": {"city": "Port", "country_code": origin}}
        currency = rng.choices(currencies, currency_weights)[0]
        header_documents = [{"category_code": "N", "type_code": "935", "id": f"INV-{number}"}]
        made.append(
            Declaration.model_validate(
                {
                    "lrn": f"LRN-BENCH-{number:07d}",
                    "declarant": {"id": declarant},
                    "importer": {"id": importer},
                    "exporter": exporter,
                    "authorisations": [{"holder_id": importer, "category_code": "DPO"}] if rng.random() < 0.6 else [],
                    "goods_items": [
                        _goods_item(rng, sequence, catalogue, origin, currency, per_gbp[currency])
                        for sequence in range(1, items + 1)
                    ],
                    "documents": header_documents,
                }
            )
        )
    return made


def _goods_item(
    rng: random.Random, sequence: int, catalogue: Goods, origin: str, currency: str, per_gbp: Decimal
) -> dict[str, Any]:
    code = rng.choices(catalogue.codes, cum_weights=catalogue.weights)[0]
    if rng.random() < 0.3:
        origin = rng.choices(list(ORIGINS), list(ORIGINS.values()))[0]
    net = max(0.1, math.exp(rng.gauss(math.log(300), 1.2)))
    gross = net * rng.uniform(1.02, 1.35)
    price = catalogue.price_per_kg[code[:6]] * math.exp(rng.gauss(0, 0.4))
    if rng.random() < 0.03:
        price *= rng.choice((0.08, 12.0))  # under- or overvalued
    value = max(Decimal("1.00"), _money(net * price * float(per_gbp)))
    by_count = rng.random() < 0.1
    documents = [
        {"category_code": document[0], "type_code": document[1:], "id": f"D-{sequence}-{document}"}
        for document in ITEM_DOCUMENTS
        if rng.random() < (0.6 if code.startswith(("0106", "0602", "9601")) else 0.1)
    ]
    item: dict[str, Any] = {
        "sequence": sequence,
        "commodity_code": code[:8],
        "taric_code": code[8:] or None,
        "description": f"goods of {code}",
        "origin_country": origin,
        "quantity": {"value": rng.randint(1, 5000), "unit": "NAR"}
        if by_count
        else {"value": _mass(net), "unit": "KGM"},
        "value": {"value": value, "currency": currency},
        "net_mass_kg": None if by_count else _mass(net),
        "gross_mass_kg": _mass(gross),
        "documents": documents,
    }
    if rng.random() < 0.1:
        item["preferential_origin"] = origin
    return item


def _mass(kg: float) -> Decimal:
    return Decimal(f"{kg:.3f}")


def _cumulative(count: int, exponent: float) -> list[float]:
    total, weights = 0.0, []
    for rank in range(count):
        total += 1 / (rank + 1) ** exponent
        weights.append(total)
    return weights


# --- Measuring --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    variant: str
    timed: str
    rates: tuple[float, ...]
    """Declarations per second, one per repetition."""
    per_repetition: int

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def measure(
    variant: str, timed: str, run: Callable[[T], object], inputs: Sequence[T], *, seconds: float, repeats: int
) -> Measurement:
    """Repetitions of `run` over the first inputs: as many as fit the time budget, at least 20, at most all."""
    probe = inputs[: min(len(inputs), 20)]
    started = time.perf_counter()
    for each in probe:
        run(each)
    per_call = (time.perf_counter() - started) / len(probe)
    count = max(len(probe), min(len(inputs), int(seconds / repeats / per_call)))
    batch = inputs[:count]
    rates = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        for each in batch:
            run(each)
        rates.append(count / (time.perf_counter() - started))
    result = Measurement(variant, timed, tuple(rates), count)
    print(f"  {variant}: {result.median:,.0f} declarations/s ({count} per repetition)", file=sys.stderr)
    return result


def pin_to_one_core() -> int | None:
    """Run on one CPU so that the figures are per core whatever the machine; None where the OS cannot."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def hit_statistics(assessments: Sequence[Assessment]) -> dict[str, Any]:
    rule_hits = [sum(hit.rule_id != RANDOM_RULE for hit in a.hits) for a in assessments]
    lanes = Counter(a.lane.value for a in assessments)
    count = len(assessments)
    return {
        "declarations": count,
        "rule_hits_per_declaration": sum(rule_hits) / count,
        "declarations_with_a_rule_hit": sum(1 for hits in rule_hits if hits) / count,
        "randomly_selected": sum(any(hit.rule_id == RANDOM_RULE for hit in a.hits) for a in assessments) / count,
        "non_green": sum(a.lane is not Lane.GREEN for a in assessments) / count,
        "refused": sum(a.refused for a in assessments) / count,
        "lanes": {lane.value: lanes[lane.value] / count for lane in Lane},
    }


def profile_statistics(risk_profile: RiskProfile) -> dict[str, Any]:
    kinds = Counter(kind for rule in risk_profile.rules for kind in rule.kinds)
    rules = len(risk_profile.rules)
    thresholds = sum(1 for rule in risk_profile.rules if {"value", "weight"} & set(rule.kinds))
    pure = sum(1 for rule in risk_profile.rules if set(rule.kinds) <= {"value", "weight"})
    lengths = Counter(len(prefix) for rule in risk_profile.rules for prefix in rule.commodity_prefixes)
    return {
        "rules": rules,
        "threshold_rules": thresholds,
        "threshold_share": thresholds / rules,
        "pure_threshold_rules": pure,
        "refuse_rules": sum(rule.refuse for rule in risk_profile.rules),
        "rules_stating_each_kind": dict(sorted(kinds.items())),
        "kinds_never_stated": sorted(set(KINDS) - set(kinds)),
        "commodity_prefix_lengths": {str(length): lengths[length] for length in sorted(lengths)},
        "valuation_bands": len(risk_profile.valuation_bands),
        "random_selection": {lane: str(rate) for lane, rate in risk_profile.random_selection},
    }


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


# --- Reporting --------------------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    naive = report["results"]["naive"]["declarations_per_second"]
    lines = [
        "| variant | what is timed | declarations/s (median) | min - max | µs per declaration | vs naive |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for variant, result in report["results"].items():
        rate = result["declarations_per_second"]
        lines.append(
            f"| {variant} | {result['timed']} | {rate:,.0f} | {result['min']:,.0f} - {result['max']:,.0f} "
            f"| {1e6 / rate:,.1f} | {rate / naive:,.1f}x |"
        )
    hits, shape, settings, host = report["hits"], report["profile"], report["settings"], report["machine"]
    load = host["load_average_at_start"]
    target = report["target"]
    verdict = "met" if target["met"] else "NOT met"
    return "\n".join(
        [
            f"# Risk engine benchmark ({report['date']})",
            "",
            f"{settings['rules']} rules ({shape['threshold_share']:.0%} threshold rules, "
            f"{shape['valuation_bands']} valuation bands), {settings['declarations']} declarations of "
            f"{settings['items']} goods items, one core (CPU {host['pinned_cpu']}), "
            f"median of {settings['repeats']} repetitions{', quick run' if settings['quick'] else ''}.",
            "",
            *lines,
            "",
            f"- Target {target['declarations_per_second']:,} declarations/s on prebuilt facts: {verdict} "
            f"({report['results']['compiled']['declarations_per_second']:,.0f}).",
            f"- Compiled over naive: {report['speedup']:,.0f} times as fast.",
            f"- Hits: {hits['rule_hits_per_declaration']:.2f} rule hits per declaration; "
            f"{hits['declarations_with_a_rule_hit']:.1%} hit a rule, {hits['randomly_selected']:.1%} chosen at "
            f"random, {hits['non_green']:.1%} not green, {hits['refused']:.1%} refused.",
            f"- Agreement: compiled and naive gave the same assessment for "
            f"{report['agreement']['checked'] - report['agreement']['disagreements']} of "
            f"{report['agreement']['checked']} sampled declarations.",
            f"- Machine: {host['platform']}, Python {host['python']}, {host['cpu_count']} CPUs"
            + (f", load average {load:.2f} at the start." if load is not None else "."),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.risk_engine", description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=500, help="rules in the generated profile (default 500)")
    parser.add_argument("--declarations", type=int, help="generated declarations (default 20000, quick 2000)")
    parser.add_argument("--items", type=int, default=5, help="goods items per declaration (default 5)")
    parser.add_argument("--seconds", type=float, help="time budget per variant (default 10, quick 1)")
    parser.add_argument("--repeats", type=int, help="repetitions per variant (default 5, quick 3)")
    parser.add_argument("--check", type=int, help="declarations compared with the naive evaluation (300, quick 100)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated profile and declarations")
    parser.add_argument("--quick", action="store_true", help="a run of a few seconds, for CI")
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory of risk_engine.{json,md}")
    args = parser.parse_args(argv)
    args.declarations = args.declarations or (2_000 if args.quick else 20_000)
    args.seconds = args.seconds or (1.0 if args.quick else 10.0)
    args.repeats = args.repeats or (3 if args.quick else 5)
    args.check = args.check or (100 if args.quick else 300)

    report = benchmark(args)
    text = markdown(report)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "risk_engine.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.output / "risk_engine.md").write_text(text, encoding="utf-8")
    failures = []
    if report["agreement"]["disagreements"]:
        failures.append(f"compiled and naive disagree on {report['agreement']['examples']}")
    if report["undecided"]["without_a_lane"]:
        failures.append(f"Rulebook.decide gave no lane (unknown code or rate) for {report['undecided']['examples']}")
    if report["profile"]["kinds_never_stated"]:
        failures.append(f"the generated profile states no {', '.join(report['profile']['kinds_never_stated'])} rule")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    cpu = pin_to_one_core()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rng = random.Random(args.seed)
    shipped = shipped_reference()
    catalogue = goods(rng, shipped.tariff)
    traders = national_traders(rng)
    risk_profile = profile(rng, args.rules, catalogue, traders)
    draw = KeyedDraw(KEY)
    engine = RiskEngine(risk_profile, draw)
    rulebook = Rulebook(risk_profile, shipped.tariff, shipped.rates, shipped.register, shipped.watch_lists, draw)
    started = time.perf_counter()
    parsed = declarations(rng, args.declarations, args.items, catalogue, traders, shipped.rates)
    events = [(f"01JDBENCH{number:017d}", declaration) for number, declaration in enumerate(parsed)]
    bodies = [declaration.model_dump_json().encode() for declaration in parsed]

    def facts(event: tuple[str, Declaration]) -> DeclarationFacts:
        declaration_id, declaration = event
        return facts_of(
            declaration_id,
            declaration,
            rates=shipped.rates,
            register=shipped.register,
            watch_lists=shipped.watch_lists,
            on=ON,
        )

    prebuilt = [facts(event) for event in events]
    print(f"generated {len(parsed)} declarations in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    sample = prebuilt[:: max(1, len(prebuilt) // args.check)][: args.check]
    disagreements = [f.declaration_id for f in sample if assess_naively(risk_profile, draw, f) != engine.assess(f)]
    undecided = [i for i, declaration in events[: args.check] if rulebook.decide(i, declaration, on=ON).lane is None]

    budget = {"seconds": args.seconds, "repeats": args.repeats}
    measurements = [
        measure("compiled", "RiskEngine.assess on prebuilt facts", engine.assess, prebuilt, **budget),
        measure(
            "facts + compiled",
            "facts_of + RiskEngine.assess from a parsed Declaration",
            lambda event: engine.assess(facts(event)),
            events,
            **budget,
        ),
        measure(
            "decide",
            "Rulebook.decide: duties, facts, assess, reasons (shipped tariff)",
            lambda event: rulebook.decide(*event, on=ON),
            events,
            **budget,
        ),
        measure(
            "naive",
            "assess_naively on prebuilt facts (the reference; baseline)",
            lambda f: assess_naively(risk_profile, draw, f),
            prebuilt,
            **budget,
        ),
        measure(
            "parse", "Declaration.model_validate_json (for scale)", Declaration.model_validate_json, bodies, **budget
        ),
    ]
    by_variant = {m.variant: m.median for m in measurements}
    return {
        "benchmark": "risk_engine",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "pinned_cpu": cpu, "load_average_at_start": load},
        "settings": {
            "rules": args.rules,
            "declarations": args.declarations,
            "items": args.items,
            "seconds_per_variant": args.seconds,
            "repeats": args.repeats,
            "seed": args.seed,
            "quick": args.quick,
        },
        "profile": profile_statistics(risk_profile),
        "results": {
            m.variant: {
                "timed": m.timed,
                "declarations_per_second": m.median,
                "min": min(m.rates),
                "max": max(m.rates),
                "repetitions": list(m.rates),
                "declarations_per_repetition": m.per_repetition,
            }
            for m in measurements
        },
        "speedup": by_variant["compiled"] / by_variant["naive"],
        "target": {"declarations_per_second": TARGET, "met": by_variant["compiled"] >= TARGET},
        "hits": hit_statistics([engine.assess(f) for f in prebuilt]),
        "agreement": {"checked": len(sample), "disagreements": len(disagreements), "examples": disagreements[:10]},
        "undecided": {
            "checked": min(args.check, len(events)),
            "without_a_lane": len(undecided),
            "examples": undecided[:10],
        },
    }


if __name__ == "__main__":
    sys.exit(main())
