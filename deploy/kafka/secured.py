"""A local single-node Kafka that admits only clients authenticated with SASL/SCRAM over TLS.

The same broker as :class:`deploy.kafka.launch.LocalKafka` (jars, log4j, JVM flags, KRaft), with one
client listener, ``SASL_SSL``. At first start it makes its own certificate authority and a broker
certificate for 127.0.0.1 (``openssl``), draws a random password for each user and formats the
data dir with their SCRAM-SHA-512 credentials (``StorageTool format --add-scram``). Brokers talk to
each other as the ``broker`` user over the same listener. The KRaft controller listener stays
plaintext on loopback: clients cannot use it for produce, fetch or metadata.

Nothing secret is in this file: passwords are drawn per home and kept in ``<home>/credentials/``
(one file per user, mode 0600), which is how services read them (``SW_*_KAFKA_SASL_PASSWORD_FILE``).

Library use::

    with SecuredKafka(tmp / "kafka", users=("gateway", "customs")) as kafka:
        kafka.bootstrap              # "127.0.0.1:p"
        kafka.ca_file                # PEM the broker certificate chains to
        kafka.password_file("gateway")

Command line (prints the settings a service needs)::

    python -m deploy.kafka.secured start|stop|status [--home DIR] [--port N]
"""

from __future__ import annotations

import argparse
import secrets
import socket
import ssl
import struct
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from deploy.kafka.launch import HOST, REPO_ROOT, LocalKafka, LocalKafkaError, _api_versions

DEFAULT_HOME = REPO_ROOT / ".local" / "kafka-secured"
MECHANISM = "SCRAM-SHA-512"
BROKER_USER = "broker"
SERVICE_USERS = ("gateway", "customs", "phyto")
CERTIFICATE_DAYS = "825"


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LocalKafkaError(f"openssl {args[0]} failed (exit {result.returncode}): {result.stderr.strip()}")


def _private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


class SecuredKafka(LocalKafka):
    """A LocalKafka whose only client listener is SASL_SSL with SCRAM-SHA-512 users."""

    def __init__(
        self,
        home: Path | str | None = None,
        port: int = 19192,
        controller_port: int = 19193,
        heap: str = "512m",
        *,
        users: Iterable[str] = SERVICE_USERS,
        lib_dir: Path | str | None = None,
    ) -> None:
        super().__init__(home or DEFAULT_HOME, port, controller_port, heap, lib_dir=lib_dir)
        self.users = (BROKER_USER, *(user for user in users if user != BROKER_USER))
        self.tls_dir = self.home / "tls"
        self.credentials_dir = self.home / "credentials"
        self.ca_file = self.tls_dir / "ca.pem"
        self.keystore_file = self.tls_dir / "broker-keystore.pem"

    # ---- secrets -----------------------------------------------------------

    def password_file(self, user: str) -> Path:
        """The file holding `user`'s SCRAM password (drawn at the first start)."""
        if user not in self.users:
            raise LocalKafkaError(f"{user!r} is not a user of this broker ({', '.join(self.users)})")
        return self.credentials_dir / user

    def password(self, user: str) -> str:
        return self.password_file(user).read_text().strip()

    def _ensure_credentials(self) -> None:
        self.credentials_dir.mkdir(parents=True, exist_ok=True)
        self.credentials_dir.chmod(0o700)
        for user in self.users:
            if not self.password_file(user).is_file():
                _private(self.password_file(user), secrets.token_urlsafe(24) + "\n")

    def _ensure_certificates(self) -> None:
        """A CA and a broker certificate for 127.0.0.1, made once per home."""
        if self.ca_file.is_file() and self.keystore_file.is_file():
            return
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        self.tls_dir.chmod(0o700)
        ca_key, key, request = self.tls_dir / "ca.key", self.tls_dir / "broker.key", self.tls_dir / "broker.csr"
        certificate, extensions = self.tls_dir / "broker.pem", self.tls_dir / "broker.ext"
        new_key = ("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
        _openssl(*new_key, "-out", str(ca_key))
        _openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            str(ca_key),
            "-subj",
            "/CN=single-window local CA",
            "-days",
            CERTIFICATE_DAYS,
            "-out",
            str(self.ca_file),
        )
        _openssl(*new_key, "-out", str(key))
        _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={HOST}", "-out", str(request))
        extensions.write_text(f"subjectAltName=IP:{HOST},DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            str(request),
            "-CA",
            str(self.ca_file),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-days",
            CERTIFICATE_DAYS,
            "-extfile",
            str(extensions),
            "-out",
            str(certificate),
        )
        # Kafka reads a PEM key store as one file: the PKCS#8 key, then the certificate chain.
        _private(self.keystore_file, key.read_text() + certificate.read_text() + self.ca_file.read_text())
        for path in (ca_key, key):
            path.chmod(0o600)

    # ---- LocalKafka hooks ----------------------------------------------------

    def render_properties(self) -> str:
        self.extra_properties.update(
            {
                "listeners": f"SASL_SSL://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
                "advertised.listeners": f"SASL_SSL://{HOST}:{self.port}",
                "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name": "SASL_SSL",
                "sasl.enabled.mechanisms": MECHANISM,
                "sasl.mechanism.inter.broker.protocol": MECHANISM,
                f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required "
                    f'username="{BROKER_USER}" password="{self.password(BROKER_USER)}";'
                ),
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(self.keystore_file),
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(self.ca_file),
                "ssl.client.auth": "none",
            }
        )
        return super().render_properties()

    def write_properties(self) -> Path:
        self._ensure_credentials()
        self._ensure_certificates()
        self.home.mkdir(parents=True, exist_ok=True)
        _private(self.properties_file, self.render_properties())  # it holds the broker's own password
        return self.properties_file

    def format_options(self) -> list[str]:
        options = []
        for user in self.users:
            options += ["--add-scram", f"{MECHANISM}=[name={user},password={self.password(user)}]"]
        return options

    def is_ready(self, timeout: float = 2.0) -> bool:
        """The SASL_SSL listener completes a TLS handshake against our CA and answers ApiVersions.

        ApiVersions is the one request Kafka answers before authentication; the broker opens its client
        listeners only once it has registered with the controller.
        """
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with (
                socket.create_connection((HOST, self.port), timeout=timeout) as raw,
                context.wrap_socket(raw, server_hostname=HOST) as sock,
            ):
                return bool(_api_versions(sock))
        except (OSError, ConnectionError, struct.error, ssl.SSLError):
            return False

    def client_settings(self, user: str) -> dict[str, str]:
        """The service settings that connect as `user` (field names; SW_<SERVICE>_ + upper case in the environment)."""
        return {
            "kafka_bootstrap": self.bootstrap,
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": MECHANISM,
            "kafka_sasl_username": user,
            "kafka_sasl_password_file": str(self.password_file(user)),
            "kafka_ssl_cafile": str(self.ca_file),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local Kafka broker with SASL/SCRAM over TLS only.")
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME)
    parser.add_argument("--port", type=int, default=19192)
    parser.add_argument("--controller-port", type=int, default=19193)
    parser.add_argument("--lib-dir", type=Path, default=REPO_ROOT / ".local" / "kafka" / "lib")
    args = parser.parse_args(argv)
    kafka = SecuredKafka(args.home, args.port, args.controller_port, lib_dir=args.lib_dir)
    try:
        if args.command == "stop":
            kafka.stop()
            return 0
        if args.command == "start":
            kafka.start(timeout=90)
        ready = kafka.is_ready()
        print(f"# pid={kafka.pid or '-'} ready={ready}")
        for service in SERVICE_USERS:
            for name, value in kafka.client_settings(service).items():
                print(f"export SW_{service.upper()}_{name.upper()}={value}")
        return 0 if ready else 1
    except LocalKafkaError as exc:
        print(f"secured-kafka: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
