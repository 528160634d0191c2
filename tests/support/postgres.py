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


class PostgresServer:
    """A throw-away server in its own directory; it can be stopped and started again on the same data."""

    def __init__(self, binaries: Path) -> None:
        self._binaries = binaries
        self.home = Path(tempfile.mkdtemp(prefix="sw-postgres-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.home, account.pw_uid, account.pw_gid)
        self.port = free_port()
        self._data = self.home / "data"
        subprocess.run(
            _as_server_user(
                [str(binaries / "initdb"), "-D", str(self._data), "-U", "sw", "--auth=trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def admin_url(self) -> str:
        return f"postgresql://sw@127.0.0.1:{self.port}"

    def _pg_ctl(self, *arguments: str) -> None:
        subprocess.run(
            _as_server_user([str(self._binaries / "pg_ctl"), "-D", str(self._data), *arguments]),
            check=True,
            capture_output=True,
        )

    def start(self, *, durable: bool = False) -> None:
        """Tests run without fsync; `durable` keeps PostgreSQL's defaults (fsync, synchronous commit), as deployed."""
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c max_connections=200"
        options += "" if durable else " -c fsync=off"
        self._pg_ctl("-l", str(self.home / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


@contextmanager
def own_postgres(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A running server of the caller's own (see `PostgresServer.start` for `durable`); raise LookupError when
    PostgreSQL is not installed."""
    binaries = _binaries()
    if binaries is None:
        raise LookupError("no PostgreSQL: Debian's postgresql is not installed")
    server = PostgresServer(binaries)
    try:
        server.start(durable=durable)
        try:
            yield server
        finally:
            subprocess.run(
                _as_server_user([str(binaries / "pg_ctl"), "-D", str(server.home / "data"), "-m", "immediate", "stop"]),
                capture_output=True,
            )
    finally:
        server.remove()


@contextmanager
def test_postgres() -> Iterator[str]:
    """Yield an admin URL (`postgresql://user@host:port`); raise LookupError with the reason when there is none."""
    given = os.environ.get("POSTGRES_URL")
    if given:
        yield given.rstrip("/")
        return
    try:
        with own_postgres() as server:
            yield server.admin_url
    except LookupError as exc:
        raise LookupError(f"{exc}, and POSTGRES_URL is unset") from exc
