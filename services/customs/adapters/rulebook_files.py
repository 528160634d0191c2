"""Loading the rulebook from its data files and the random selection key from settings or its file."""

import logging
from pathlib import Path

from services.contract.keyed_draw import KeyedDraw, draw_key
from services.contract.rules_file import RulesFileError, load_rules
from services.customs.domain.exchange_rates import ExchangeRates
from services.customs.domain.risk import RiskProfile
from services.customs.domain.rulebook import Rulebook, RulebookError
from services.customs.domain.tariff import Tariff
from services.customs.domain.traders import TraderRegister
from services.customs.domain.watch_lists import WatchLists
from services.customs.settings import CustomsSettings

log = logging.getLogger(__name__)


def load_rulebook(settings: CustomsSettings, draw: KeyedDraw) -> Rulebook:
    """Raises RulesFileError (naming the file and field) or RulebookError when the files do not fit together."""
    return Rulebook(
        profile=load_rules(settings.risk_profile, RiskProfile),
        tariff=load_rules(settings.tariff, Tariff),
        exchange_rates=load_rules(settings.exchange_rates, ExchangeRates),
        trader_register=load_rules(settings.trader_register, TraderRegister),
        watch_lists=load_rules(settings.watch_lists, WatchLists),
        draw=draw,
    )


def load_profile(path: Path, rulebook: Rulebook) -> Rulebook:
    """The rulebook with a candidate profile in place of its own (for what-if)."""
    return rulebook.with_profile(load_rules(path, RiskProfile))


def selectivity_key(settings: CustomsSettings, *, create: bool = True) -> bytes:
    """The random selection key (see `draw_key`); tools that recompute selections pass create=False."""
    return draw_key(
        settings.selectivity_key,
        settings.selectivity_key_file,
        create=create,
        settings_hint="SW_CUSTOMS_SELECTIVITY_KEY or SW_CUSTOMS_SELECTIVITY_KEY_FILE",
    )


class RulebookHolder:
    """The rulebook in force; a reload that fails keeps it and says why."""

    def __init__(self, settings: CustomsSettings) -> None:
        self._settings = settings
        self._draw = KeyedDraw(selectivity_key(settings))
        self.current = load_rulebook(settings, self._draw)

    def reload(self) -> bool:
        try:
            candidate = load_rulebook(self._settings, self._draw)
        except (RulesFileError, RulebookError) as exc:
            log.error("rulebook reload refused, keeping versions %s: %s", self.current.versions, exc)
            return False
        self.current = candidate
        log.info("rulebook reloaded: %s", candidate.versions)
        return True
