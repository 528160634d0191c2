"""The Strimzi Kafka Bridge, the ingest benchmark's HTTP peer: provisioned once into the cache and run as a Java
process on loopback, producing with acks=all to the same broker as the gateway.

Where the bridge comes from, first found wins: the cache (.local/bench/kafka-bridge-VERSION); a release archive
named by SW_BENCH_BRIDGE_DIST (the .tar.gz or .zip of the GitHub release page); Maven Central
(io.strimzi:kafka-bridge and its dependencies, bench/bridge/pom.xml); a build of the release tag with Maven from
the source in SW_BENCH_BRIDGE_SOURCE (a git directory or a checkout) or cloned from GitHub.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.ingest.processes import CACHE, REPO, BenchmarkSetupError, free_port, stop_process, wait_http

POM = REPO / "bench" / "bridge" / "pom.xml"
GIT_URL = "https://github.com/strimzi/strimzi-kafka-bridge.git"
MAIN_CLASS = "io.strimzi.kafka.bridge.Application"
MAVEN_FLAGS = ["-B", "-DskipTests", "-Dcheckstyle.skip", "-Dspotbugs.skip=true", "-Dmaven.javadoc.skip=true"]
PRODUCER_SETTINGS = {"acks": "all"}
"""kafka.producer.* settings of the bridge: acks=all, as the gateway's relay; the rest are Kafka's defaults
(enable.idempotence is then true)."""


def version() -> str:
    node = ET.parse(POM).getroot().find("m:properties/m:bridge.version", {"m": "http://maven.apache.org/POM/4.0.0"})
    if node is None or not (node.text or "").strip():
        raise BenchmarkSetupError(f"no <bridge.version> in {POM}")
    return (node.text or "").strip()


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ensure_bridge() -> Path:
    """The bridge's distribution folder (libs/, config/), provisioned on first use. Says where it came from."""
    home = CACHE / f"kafka-bridge-{version()}"
    marker = home / ".complete"
    if marker.is_file():
        return home
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    given = os.environ.get("SW_BENCH_BRIDGE_DIST")
    try:
        if given:
            origin = _unpack(Path(given), home)
        elif _from_maven_central(home):
            origin = "Maven Central (io.strimzi:kafka-bridge)"
        else:
            origin = _build_from_source(home)
    except (subprocess.CalledProcessError, OSError) as error:
        shutil.rmtree(home, ignore_errors=True)
        raise BenchmarkSetupError(
            f"Kafka Bridge {version()} could not be provisioned ({error}): it is not on the Maven repository "
            f"reachable here and its source could not be fetched; set SW_BENCH_BRIDGE_SOURCE to a checkout (or a "
            f"git directory) of strimzi-kafka-bridge with tag {version()}, or SW_BENCH_BRIDGE_DIST to its release "
            "archive"
        ) from error
    except BenchmarkSetupError:
        shutil.rmtree(home, ignore_errors=True)
        raise
    marker.write_text(origin + "\n")
    _log(f"Kafka Bridge {version()} installed in {home} from {origin}")
    return home


def origin_of(home: Path) -> str:
    return (home / ".complete").read_text().strip()


def _unpack(archive: Path, home: Path) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as opened:
                opened.extractall(scratch)
        else:
            with tarfile.open(archive) as opened:
                opened.extractall(scratch, filter="data")
        libs = next(Path(scratch).rglob("libs"), None)
        if libs is None:
            raise BenchmarkSetupError(f"{archive} holds no libs/ folder: is it a Kafka Bridge release archive?")
        for part in libs.parent.iterdir():
            shutil.move(str(part), home / part.name)
    return f"release archive {archive}"


def _from_maven_central(home: Path) -> bool:
    _log(f"fetching io.strimzi:kafka-bridge:{version()} and its dependencies from Maven Central ...")
    result = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={home / 'libs'}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        _log("the bridge is not on the Maven repository reachable from here; building it from its source tag")
        shutil.rmtree(home / "libs", ignore_errors=True)
        return False
    return True


def _build_from_source(home: Path) -> str:
    tag = version()
    with tempfile.TemporaryDirectory(prefix="kafka-bridge-src-") as scratch:
        source = Path(scratch)
        given = os.environ.get("SW_BENCH_BRIDGE_SOURCE")
        if given and (Path(given) / "HEAD").is_file():  # a bare git directory (a mirror)
            archive = subprocess.run(["git", "--git-dir", given, "archive", tag], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
            origin = f"source tag {tag} of {given}, built with Maven"
        elif given:
            shutil.copytree(given, source, dirs_exist_ok=True)
            origin = f"source in {given}, built with Maven"
        else:
            subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", tag, GIT_URL, str(source)], check=True)
            origin = f"source tag {tag} of {GIT_URL}, built with Maven"
        _log(f"building the Kafka Bridge from {origin.split(',')[0]} (a few minutes, once) ...")
        log = CACHE / f"kafka-bridge-{tag}-build.log"
        with log.open("w") as out:
            built = subprocess.run(["mvn", *MAVEN_FLAGS, "package"], cwd=source, stdout=out, stderr=out, check=False)
        if built.returncode != 0:
            raise BenchmarkSetupError(f"building the Kafka Bridge failed (exit {built.returncode}); see {log}")
        _unpack(source / "target" / f"kafka-bridge-{tag}.tar.gz", home)
    return origin


@dataclass(frozen=True)
class Bridge:
    url: str
    version: str
    origin: str
    pid: int


@contextlib.contextmanager
def bridge(home: Path, bootstrap: str, state_dir: Path) -> Iterator[Bridge]:
    """The bridge on a free loopback port, producer endpoints only."""
    port = free_port()
    settings = {
        "bridge.id": "bench-bridge",
        "kafka.bootstrap.servers": bootstrap,
        **{f"kafka.producer.{name}": value for name, value in PRODUCER_SETTINGS.items()},
        "http.host": "127.0.0.1",
        "http.port": str(port),
        "http.consumer.enabled": "false",
        "http.producer.enabled": "true",
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    config = state_dir / "bridge.properties"
    config.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    java = shutil.which("java") or "java"
    command = [
        java,
        "-Xms256m",
        "-Xmx512m",
        f"-Dlog4j2.configurationFile=file:{home / 'config' / 'log4j2.properties'}",
        f"-Dvertx.cacheDirBase={state_dir / 'vertx-cache'}",
        "-classpath",
        str(home / "libs" / "*"),
        MAIN_CLASS,
        "--config-file",
        str(config),
    ]
    with (state_dir / "bridge.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/ready", within=60, process=process, what="the Kafka Bridge")
        except BenchmarkSetupError as error:
            tail = (state_dir / "bridge.log").read_text(errors="replace")[-3000:]
            raise BenchmarkSetupError(f"{error}; its log ends:\n{tail}") from error
        yield Bridge(f"http://127.0.0.1:{port}", version(), origin_of(home), process.pid)
    finally:
        stop_process(process)
