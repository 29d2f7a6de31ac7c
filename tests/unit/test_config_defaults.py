"""Settings are defined once: the embedded defaults.toml and the defaults written on the
config structs never disagree, and every section a call session reads is a struct of
appliance/config.py (no copy with defaults of its own)."""

from __future__ import annotations

import tomllib
from typing import Any

import msgspec
import pytest

from appliance.config import Settings, default_toml

pytestmark = pytest.mark.unit


def struct_defaults(struct: type[msgspec.Struct], prefix: str = "") -> dict[str, Any]:
    """Each field that has a default on the struct, by its dotted path."""
    found: dict[str, Any] = {}
    for field in msgspec.structs.fields(struct):
        path = f"{prefix}{field.encode_name}"
        if field.default is not msgspec.NODEFAULT:
            found[path] = field.default
        elif field.default_factory is not msgspec.NODEFAULT:
            value = field.default_factory()
            if isinstance(value, msgspec.Struct):
                found.update(struct_defaults(type(value), f"{path}."))
            else:
                found[path] = value
        elif isinstance(field.type, type) and issubclass(field.type, msgspec.Struct):
            found.update(struct_defaults(field.type, f"{path}."))
    return found


def toml_values(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            found.update(toml_values(value, f"{prefix}{key}."))
        else:
            found[f"{prefix}{key}"] = value
    return found


def test_defaults_toml_agrees_with_the_struct_defaults() -> None:
    in_code = struct_defaults(Settings)
    in_file = toml_values(tomllib.loads(default_toml()))
    both = sorted(set(in_code) & set(in_file))
    assert len(both) > 40  # the comparison covers the sections with defaults in code
    drift = {k: (in_file[k], in_code[k]) for k in both if in_file[k] != in_code[k]}
    assert drift == {}, "defaults.toml and appliance/config.py disagree (file, code)"


def test_the_checker_sees_a_drift() -> None:
    in_code = struct_defaults(Settings)
    assert in_code["conversation.barge_in_pause_s"] == 0.02
    assert in_code["sip.tls.port"] == 5061 and in_code["pci.mode"] == "collect"
