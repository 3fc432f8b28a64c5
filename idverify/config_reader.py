"""Reading raw setting values: the TOML config file, the typed parsers that name the bad variable, and ``Secret``."""

from __future__ import annotations

import base64
import binascii
import tomllib
from collections.abc import Mapping
from pathlib import Path


class ConfigError(ValueError):
    """A setting that cannot be used. The message names the variable."""


class Secret:
    """A secret value whose repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def parse_signing_keys(text: str) -> Secret:
    """An inline signing key ring (the index JSON with ``pem`` members, or one PKCS#8 PEM), checked now so a bad
    one stops start-up; ``KeyRingError`` is a ``ValueError`` and names what is wrong, never the key."""
    from idverify.tokens.keys import KeyRing

    KeyRing.from_env_value(text)
    return Secret(text.encode())


def parse_thresholds(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise ValueError("entries must be comparison=threshold, e.g. selfie_vs_document=0.46")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{name.strip()}: {value!r} is not a number") from None
    return out


def read_file(path: str) -> dict[str, str]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"IDVERIFY_CONFIG_FILE {path!r} cannot be read: {exc}") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        if not key.startswith(("IDVERIFY_", "TWILIO_")):
            raise ConfigError(f"IDVERIFY_CONFIG_FILE: unknown key {key!r} (keys are the variable names)")
        if isinstance(value, list):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


class Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _get(self, name: str) -> str | None:
        value = self._env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def text(self, name: str, default: str) -> str:
        value = self._get(name)
        return default if value is None else value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(name, default)
        if value not in allowed:
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if value.lower() in {"1", "true", "yes", "on"}:
            return True
        if value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={value!r} is not a boolean (true/false)")

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self._get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not an integer (accepted: {low} to {high})") from None
        if not low <= number <= high:
            raise ConfigError(f"{name}={number} must be between {low} and {high}")
        return number

    def address(self, name: str, default: str) -> str:
        value = self.text(name, default)
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"{name}={value!r} must be host:port")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.optional_number(name, low, high)
        return default if value is None else value

    def optional_number(self, name: str, low: float, high: float) -> float | None:
        value = self._get(name)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a number (accepted: {low} to {high})") from None
        if not low <= number <= high:
            raise ConfigError(f"{name}={number} must be between {low} and {high}")
        return number

    def path(self, name: str, default: Path) -> Path:
        value = self._get(name)
        return default if value is None else Path(value)

    def optional_file(self, name: str) -> Path | None:
        value = self._get(name)
        if value is None:
            return None
        path = Path(value)
        if not path.is_file():
            raise ConfigError(f"{name}={value!r}: no such file")
        return path

    def optional_path(self, name: str) -> Path | None:
        """A folder that may not exist yet (a cache is created on first use)."""
        value = self._get(name)
        return None if value is None else Path(value)

    def optional_dir(self, name: str) -> Path | None:
        value = self._get(name)
        if value is None:
            return None
        path = Path(value)
        if not path.is_dir():
            raise ConfigError(f"{name}={value!r}: no such directory")
        return path

    def words(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(name)
        if value is None:
            return default
        words = tuple(w.strip() for w in value.split(",") if w.strip())
        if not words:
            raise ConfigError(f"{name} must list at least one value")
        return words

    def key(self, name: str) -> Secret | None:
        value = self._get(name)
        if value is None:
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{name} must be base64 (32 random bytes)") from None
        if len(raw) != 32:
            raise ConfigError(f"{name} must decode to 32 bytes, got {len(raw)}")
        return Secret(raw)

    def keyring(self, name: str) -> tuple[tuple[str, Secret], ...]:
        value = self._get(name)
        if value is None:
            return ()
        ring = []
        for item in value.split(","):
            kid, sep, b64 = item.strip().partition(":")
            if not sep or not kid.isalnum() or len(kid) > 16:
                raise ConfigError(f"{name} must be kid:base64[,kid:base64...] with short alphanumeric kids")
            secret = Reader({name: b64}).key(name)
            assert secret is not None
            ring.append((kid, secret))
        return tuple(ring)

    def secret_text(self, name: str) -> Secret | None:
        value = self._get(name)
        return None if value is None else Secret(value.encode())

    def parsed(self, name: str, parse, default):  # type: ignore[no-untyped-def]
        value = self._get(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
