"""The console's settings, parsed once from an explicit mapping (the entry point passes ``os.environ``).

The console needs no secret of its own: no API key, no signing key. It needs where the service is, and the
certificate files for serving HTTPS (required in production, where cookies are then Secure and HSTS is sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A console setting that cannot work; the message names the variable."""



@dataclass(frozen=True)
class ConsoleSettings:
    address: str = "127.0.0.1:8080"
    service_target: str = "127.0.0.1:50051"
    service_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    idle_s: int = 600

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.address.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def https(self) -> bool:
        return self.tls_cert_file is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ConsoleSettings:
        def path(name: str) -> Path | None:
            value = env.get(name, "").strip()
            if not value:
                return None
            if not Path(value).is_file():
                raise ConfigError(f"{name}={value}: no such file")
            return Path(value)

        address = env.get("IDVERIFY_CONSOLE_ADDRESS", cls.address).strip()
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"IDVERIFY_CONSOLE_ADDRESS={address}: give host:port")
        idle = env.get("IDVERIFY_CONSOLE_IDLE_S", str(cls.idle_s)).strip()
        if not idle.isdigit() or not 60 <= int(idle) <= 3600:
            raise ConfigError(f"IDVERIFY_CONSOLE_IDLE_S={idle}: give 60-3600 seconds")
        settings = cls(address=address,
                       service_target=env.get("IDVERIFY_CONSOLE_SERVICE_TARGET", cls.service_target).strip(),
                       service_ca_file=path("IDVERIFY_CONSOLE_SERVICE_CA_FILE"),
                       tls_cert_file=path("IDVERIFY_CONSOLE_TLS_CERT_FILE"),
                       tls_key_file=path("IDVERIFY_CONSOLE_TLS_KEY_FILE"), idle_s=int(idle))
        if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
            raise ConfigError("IDVERIFY_CONSOLE_TLS_CERT_FILE and IDVERIFY_CONSOLE_TLS_KEY_FILE go together")
        if env.get("IDVERIFY_ENV", "development") == "production" and not settings.https:
            raise ConfigError("IDVERIFY_ENV=production: the console serves HTTPS only; set "
                              "IDVERIFY_CONSOLE_TLS_CERT_FILE and IDVERIFY_CONSOLE_TLS_KEY_FILE")
        return settings
