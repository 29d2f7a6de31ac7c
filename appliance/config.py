"""Frozen settings from one TOML file layered over the embedded defaults.

Secrets are never read from here: only paths to key files (or, in production,
systemd credentials under $CREDENTIALS_DIRECTORY).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from appliance.errors import ConfigError


class Clinic(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    timezone: str
    front_desk_hours: str
    facts: str  # short clinic facts the assistant may state (no PHI)


class Paths(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    var_dir: str
    models_dir: str


class Sip(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: str
    port: int
    transports: list[str]
    rtp_port: int
    rtp_port_range: int
    codecs: list[str]
    max_calls: int
    workers: int  # agent processes behind the edge (pjsua2 holds 4 calls each)
    worker_port: int  # first worker's SIP port on 127.0.0.1


class Admin(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: str
    port: int


class LlmServer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool
    model: str
    host: str
    port: int
    threads: int
    context: int


class Llm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    base_url: str
    model: str
    api_key_file: str
    timeout_s: float
    max_tokens: int
    temperature: float
    server: LlmServer


class Stt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model: str
    device: str
    compute_type: str
    beam_size: int
    threads: int


class Tts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    voice: str


class Vad(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    threshold: float
    min_speech_ms: int
    min_silence_ms: int
    max_utterance_s: float


class Store(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    db_file: str
    key_file: str


class Log(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    level: str


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    clinic: Clinic
    paths: Paths
    sip: Sip
    admin: Admin
    llm: Llm
    stt: Stt
    tts: Tts
    vad: Vad
    store: Store
    log: Log

    def path(self, value: str) -> Path:
        """Resolve a configured path (relative paths against the working directory)."""
        return Path(value).expanduser().resolve()

    @property
    def var_dir(self) -> Path:
        return self.path(self.paths.var_dir)

    @property
    def models_dir(self) -> Path:
        return self.path(self.paths.models_dir)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def default_toml() -> str:
    return resources.files("appliance").joinpath("defaults.toml").read_text("utf-8")


def load_settings(config_file: Path | None = None) -> Settings:
    """Defaults, overlaid by `config_file` (or $APPLIANCE_CONFIG) if given."""
    data = tomllib.loads(default_toml())
    env_file = os.environ.get("APPLIANCE_CONFIG")
    chosen = config_file or (Path(env_file) if env_file else None)
    if chosen is not None:
        try:
            override = tomllib.loads(chosen.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("config-missing", f"config file not found: {chosen}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config-syntax", f"{chosen}: {exc}") from exc
        data = _merge(data, override)
    try:
        settings = msgspec.convert(data, type=Settings)
    except msgspec.ValidationError as exc:
        raise ConfigError("config-invalid", str(exc)) from exc
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    for name, port in (("sip.port", s.sip.port), ("admin.port", s.admin.port)):
        if not 0 < port < 65536:
            raise ConfigError("config-invalid", f"{name} out of range: {port}")
    bad = set(s.sip.transports) - {"udp", "tcp"}
    if bad or not s.sip.transports:
        raise ConfigError("config-invalid", f"sip.transports must be udp/tcp, got {sorted(bad)}")
    if s.sip.max_calls < 1:
        raise ConfigError("config-invalid", "sip.max_calls must be >= 1")
    if not 0.0 < s.vad.threshold < 1.0:
        raise ConfigError("config-invalid", "vad.threshold must be in (0, 1)")


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """Read a hex secret from a 0600 key file, creating it on first use (dev only).

    Refuses a key file that other users can read.
    """
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                "key-file-permissions", f"{path} must not be readable by others (mode {mode:o})"
            )
        value = path.read_text("ascii").strip()
        if not value:
            raise ConfigError("key-file-empty", f"{path} is empty")
        return value
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_hex(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value
