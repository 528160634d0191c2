"""Loading the rulebook from its data files and the random selection key from settings or its file."""

import logging
import os
import secrets
from pathlib import Path

from services.contract.rules_file import RulesFileError, load_rules
from services.customs.domain.exchange_rates import ExchangeRates
from services.customs.domain.risk import RiskProfile
from services.customs.domain.risk_engine import RandomDraw
from services.customs.domain.rulebook import Rulebook, RulebookError
from services.customs.domain.tariff import Tariff
from services.customs.domain.traders import TraderRegister
from services.customs.domain.watch_lists import WatchLists
from services.customs.settings import CustomsSettings

log = logging.getLogger(__name__)


def load_rulebook(settings: CustomsSettings, draw: RandomDraw) -> Rulebook:
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


class MissingSelectivityKey(Exception):
    """Neither a key nor a key file is there, and the caller may not create one."""


def selectivity_key(settings: CustomsSettings, *, create: bool = True) -> bytes:
    """The configured key, else the key file's, else (if `create`) a new random key written to that file (0600).

    Tools that recompute selections (what-if, audit) pass create=False: a new key would draw other numbers.
    """
    if settings.selectivity_key is not None:
        return settings.selectivity_key.get_secret_value().encode()
    path = settings.selectivity_key_file
    if not path.exists() and not create:
        raise MissingSelectivityKey(
            f"no random selection key: set SW_CUSTOMS_SELECTIVITY_KEY or SW_CUSTOMS_SELECTIVITY_KEY_FILE "
            f"({path} does not exist) to the key the customs service uses"
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another instance created it first
        else:
            with os.fdopen(descriptor, "w") as key_file:
                key_file.write(secrets.token_hex(32))
            log.warning("created a random selection key in %s: share it between customs instances", path)
    return path.read_text(encoding="utf-8").strip().encode()


class RulebookHolder:
    """The rulebook in force; a reload that fails keeps it and says why."""

    def __init__(self, settings: CustomsSettings) -> None:
        self._settings = settings
        self._draw = RandomDraw(selectivity_key(settings))
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
