"""Selection at a configured rate that can be recomputed: a keyed draw per declaration and rules version.

Customs' random selection and plant health's inspection draw both use it. The same declaration under the same
rules always draws the same number, so a redelivered event or a replay decides alike, and an auditor holding
the key can recompute a selection; a trader without the key cannot predict one.
"""

import hashlib
import hmac
import logging
import os
import secrets
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

log = logging.getLogger(__name__)


class KeyedDraw:
    """A uniform number in [0, 1) per declaration and rules version, keyed with a secret."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the selection key must be at least 16 bytes")
        self._key = key

    def __call__(self, rules_version: str, declaration_id: str) -> float:
        message = f"{rules_version}\x1f{declaration_id}".encode()
        digest = hmac.digest(self._key, message, hashlib.sha256)  # one call to OpenSSL, a fifth of hmac.new's time
        return (int.from_bytes(digest[:8], "big") >> 11) / 2**53  # 53 bits: exact in a float, always below 1

    def selects(self, rate: Decimal, rules_version: str, declaration_id: str) -> bool:
        return Decimal(self(rules_version, declaration_id)) < rate


class MissingDrawKey(Exception):
    """Neither a key nor a key file is there, and the caller may not create one."""


def draw_key(key: SecretStr | None, key_file: Path, *, create: bool, settings_hint: str) -> bytes:
    """The configured key, else the key file's, else (if `create`) a new random key written to that file (0600).

    Tools that recompute selections (what-if, audit) pass create=False: a new key would draw other numbers.
    `settings_hint` names the variables that set the key, for the error and the log.
    """
    if key is not None:
        return key.get_secret_value().encode()
    if not key_file.exists() and not create:
        raise MissingDrawKey(
            f"no selection key: set {settings_hint} ({key_file} does not exist) to the key the service uses"
        )
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another instance created it first
        else:
            with os.fdopen(descriptor, "w") as written:
                written.write(secrets.token_hex(32))
            log.warning("created a random selection key in %s: share it between the service's instances", key_file)
    return key_file.read_text(encoding="utf-8").strip().encode()
