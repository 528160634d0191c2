"""Loading phyto's rules: the import requirements file, the border's country and the inspection draw's key."""

import logging

from services.contract.keyed_draw import KeyedDraw, draw_key
from services.contract.rules_file import RulesFileError, load_rules
from services.phyto.domain.assessment import PhytoRules
from services.phyto.domain.requirements import ImportRequirements
from services.phyto.settings import PhytoSettings

log = logging.getLogger(__name__)


def inspection_key(settings: PhytoSettings) -> bytes:
    """The inspection draw's key (see `draw_key`): configured, or in its file, made on first start."""
    return draw_key(
        settings.inspection_key,
        settings.inspection_key_file,
        create=True,
        settings_hint="SW_PHYTO_INSPECTION_KEY or SW_PHYTO_INSPECTION_KEY_FILE",
    )


def load_requirements(settings: PhytoSettings) -> ImportRequirements:
    """The import requirements file, validated; raises RulesFileError naming the file and the field.

    What the operator CLI calls to check the file before a reload: it reads no key and creates nothing.
    """
    return load_rules(settings.import_requirements, ImportRequirements)


def load_phyto_rules(settings: PhytoSettings, draw: KeyedDraw | None = None) -> PhytoRules:
    """Raises RulesFileError (naming the file and field) when the requirements do not load."""
    return PhytoRules(
        requirements=load_requirements(settings),
        importing_country=settings.importing_country,
        draw=draw if draw is not None else KeyedDraw(inspection_key(settings)),
    )


class PhytoRulesHolder:
    """The rules in force; a reload that fails keeps them and says why."""

    def __init__(self, settings: PhytoSettings) -> None:
        self._settings = settings
        self._draw = KeyedDraw(inspection_key(settings))
        self.current = load_phyto_rules(settings, self._draw)

    def reload(self) -> bool:
        try:
            candidate = load_phyto_rules(self._settings, self._draw)
        except RulesFileError as exc:
            log.error("import requirements reload refused, keeping version %s: %s", self.current.version, exc)
            return False
        self.current = candidate
        log.info("import requirements reloaded: version %s", candidate.version)
        return True
