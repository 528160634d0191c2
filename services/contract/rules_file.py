"""Loading rules that administrations edit (routing, profiles, requirements): YAML validated into typed models."""

import logging
from pathlib import Path
from typing import Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger(__name__)


class RulesFileError(Exception):
    """A rules file is missing, not YAML, or does not fit its model; the message names the file and field."""


def load_rules(path: Path, model: type[M]) -> M:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesFileError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RulesFileError(f"{path}:{where} not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise RulesFileError(f"{path}: {problems}") from exc


class RulesInForce(Generic[M]):
    """The rules of one file in force; `reload` reads the file again, and a file that fails keeps the old rules."""

    def __init__(self, path: Path, model: type[M]) -> None:
        self._path = path
        self._model = model
        self.current = load_rules(path, model)

    def reload(self) -> bool:
        try:
            candidate = load_rules(self._path, self._model)
        except RulesFileError as exc:
            log.error("%s reload refused, keeping version %s: %s", self._path.name, _version(self.current), exc)
            return False
        self.current = candidate
        log.info("%s reloaded: version %s", self._path.name, _version(candidate))
        return True


def _version(rules: BaseModel) -> str:
    return str(getattr(rules, "version", "(unversioned)"))
