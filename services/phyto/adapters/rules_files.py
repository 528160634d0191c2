"""Loading phyto's rules: the import requirements file, the border's country and the inspection draw's key."""

from services.contract.keyed_draw import KeyedDraw, draw_key
from services.contract.rules_file import RulesInForce, load_rules
from services.phyto.domain.assessment import PhytoRules
from services.phyto.domain.requirements import ImportRequirements
from services.phyto.settings import PhytoSettings


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
    """The rules in force: the import requirements file as `RulesInForce` keeps it (a reload that fails keeps the
    version in force and says why), with this border's country and the inspection draw."""

    def __init__(self, settings: PhytoSettings) -> None:
        self._settings = settings
        self._draw = KeyedDraw(inspection_key(settings))
        self._requirements = RulesInForce(settings.import_requirements, ImportRequirements)
        self.current = self._rules()

    def reload(self) -> bool:
        if not self._requirements.reload():
            return False
        self.current = self._rules()
        return True

    def _rules(self) -> PhytoRules:
        return PhytoRules(self._requirements.current, self._settings.importing_country, self._draw)
