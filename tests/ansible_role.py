"""The appliance role's drop-ins for the agent unit, rendered with Jinja as ansible renders
them (trim_blocks; a task's `vars` rendered natively, so lists stay lists)."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.nativetypes import NativeEnvironment

ROLE = Path(__file__).resolve().parents[1] / "ansible/roles/appliance"
AGENT = "appliance-agent@.service"
SITE = {
    "appliance_root": "",
    "appliance_pbx_networks": ["198.18.0.2/32"],
    "appliance_management_networks": ["198.18.0.3/32"],
}


def _role_defaults() -> dict[str, Any]:
    """The role's defaults that are plain values (not templates of other variables)."""
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text()) or {}
    return {k: v for k, v in defaults.items() if not (isinstance(v, str) and "{{" in v)}


def render_agent_dropins(
    profile: str, folder: Path, unit: str = AGENT, site: dict[str, Any] | None = None
) -> list[Path]:
    """The role's templates whose destination is `unit`'s drop-in folder (the agent's by
    default), rendered for SITE updated with `site`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,  # as ansible's template module
        keep_trailing_newline=True,
    )
    env.filters["dirname"] = posixpath.dirname  # ansible's filter of that name
    native = NativeEnvironment(undefined=jinja2.StrictUndefined)
    base = {**_role_defaults(), **SITE, **(site or {}), "appliance_profile": profile}
    rendered: list[Path] = []
    for task in yaml.safe_load((ROLE / "tasks/units.yml").read_text()):
        spec = task.get("ansible.builtin.template")
        if not spec or f"/{unit}.d/" not in spec["dest"]:
            continue
        local = dict(base)
        for key, value in (task.get("vars") or {}).items():
            local[key] = native.from_string(str(value)).render(base)
        path = folder / Path(spec["dest"]).name
        path.write_text(env.get_template(spec["src"]).render(local))
        rendered.append(path)
    return sorted(rendered)


def site_variables() -> dict[str, Any]:
    """group_vars/all.yml over every role's defaults/main.yml (Ansible's precedence)."""
    ansible = ROLE.parents[1]
    found: dict[str, Any] = {}
    for path in sorted(ansible.glob("roles/*/defaults/main.yml")):
        found.update(yaml.safe_load(path.read_text()) or {})
    found.update(yaml.safe_load((ansible / "group_vars/all.yml").read_text()))
    return found


def render_template(role: str, name: str, **overrides: Any) -> str:
    """One role template, rendered as ansible's template module would (trim_blocks, the
    site's variables, ansible's own filters and tests: to_json, bool, regex_replace, search)."""
    from ansible.plugins.filter.core import FilterModule
    from ansible.plugins.test.core import TestModule

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE.parent / role / "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    for filter_name, function in FilterModule().filters().items():
        env.filters.setdefault(filter_name, function)
    for test_name, function in TestModule().tests().items():
        env.tests.setdefault(test_name, function)
    return env.get_template(name).render({**site_variables(), **overrides})
