"""A PostgreSQL server for the tests: POSTGRES_URL when set, else one started from Debian's binaries."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.broker import free_port


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` system user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def test_postgres() -> Iterator[str]:
    """Yield an admin URL (`postgresql://user@host:port`); raise LookupError with the reason when there is none."""
    given = os.environ.get("POSTGRES_URL")
    if given:
        yield given.rstrip("/")
        return
    binaries = _binaries()
    if binaries is None:
        raise LookupError("no PostgreSQL: POSTGRES_URL is unset and Debian's postgresql is not installed")
    home = Path(tempfile.mkdtemp(prefix="sw-postgres-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(home, account.pw_uid, account.pw_gid)
    port = free_port()
    data, log = home / "data", home / "server.log"
    try:
        subprocess.run(
            _as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", "sw", "--auth=trust", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]),
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql://sw@127.0.0.1:{port}"
        finally:
            subprocess.run(
                _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
