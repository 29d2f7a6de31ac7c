"""Layers only point down: each package's imports are checked against the rule tables.

Every `import` and `from ... import` in a file counts, at any depth (inside functions and
`if TYPE_CHECKING:` too): a deferred import is still a dependency. A failure names every
offending file:line. To add a rule, add a row; a row naming a module that no longer
exists fails too, so a rule cannot go quietly stale when modules move.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2] / "appliance"

# (package or module under appliance/, the appliance modules it must not import)
# the processes and their composition: the top (services.children, the helpers that run a
# child process, is used by the LLM server and the edge, and is not in it)
SERVICES = ("agent", "edge", "supervisor", "runtime", "app_db", "lifecycle")
APP = (*(f"services.{name}" for name in SERVICES), "cli", "admin")
CALL = ("conversation", "workflows", "scheduling")  # the agent plane's logic

FORBIDDEN: list[tuple[str, tuple[str, ...]]] = [
    ("store", (*APP, *CALL, "governance", "llm", "speech", "sip", "edge", "outbound")),
    ("admin", ("services.runtime", "services.agent", "services.supervisor", "cli")),
    # the console (accounts, sessions, its screens) is served by the admin app, below it
    ("console", (*APP, "conversation", "speech", "llm", "sip", "edge")),
    # speech implements the detector and STT ports structurally: no import of the session
    ("speech", (*APP, *CALL, "sip", "edge")),
    # the call session reaches the agent plane only through its port (appliance.ports)
    ("conversation", (*APP, "workflows", "scheduling", "llm", "sip", "edge")),
    ("governance", (*APP, *CALL, "sip", "edge")),
    ("workflows", (*APP, "conversation", "sip", "edge")),
    ("llm", (*APP, *CALL, "sip", "edge")),
    ("sip", (*APP, *CALL, "governance", "edge", "store")),
    ("edge", (*APP, *CALL, "governance", "sip")),
    ("observability", (*APP, *CALL, "governance", "sip", "edge", "store")),
    # post-call scoring reads what the store recorded, never the live call's parts
    ("quality", (*APP, *CALL, "governance", "llm", "speech", "sip", "edge")),
    # outbound reminders: the ledger, windows and planner over the store and the schedule;
    # the dialler reaches the SIP edge through a port (dialler.OutboundLine); the CLI
    # starts the real endpoint and speech models
    ("outbound", (*APP, "conversation", "llm", "speech", "sip", "edge", "governance")),
    # the demo clinic and desk: data, a seeder and a desk process; the processes above
    # start them (services.lifecycle, standard library only, is any entry point's)
    ("demo", (*(a for a in APP if a != "services.lifecycle"), "conversation", "workflows")),
]

# (module under appliance/, the only appliance modules it may import): the foundations
# that everything else builds on, pinned to what they import today
ONLY: list[tuple[str, tuple[str, ...]]] = [
    ("errors", ()),
    ("audio", ("errors",)),
    ("domain", ("errors", "audio")),
    ("ports", ("errors", "audio", "domain")),
    ("addresses", ()),
    ("config", ("errors", "addresses", "config_sip", "config_types", "config_quality")),
    ("config_quality", ("errors", "config_types")),
    ("config_sip", ("errors", "config_types")),
    ("config_types", ()),
    ("services.lifecycle", ()),
]


def files_of(name: str) -> list[Path]:
    """The .py files of appliance.<name>: a package's whole tree, or one module."""
    package = ROOT / name.replace(".", "/")
    if package.is_dir():
        return sorted(package.rglob("*.py"))
    module = package.with_suffix(".py")
    return [module] if module.is_file() else []


def module_name(path: Path) -> str:
    parts = ["appliance", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in `source`, a module of `package`;
    `from a import b` yields both a and a.b (b may be a submodule)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def file_imports(path: Path) -> Iterator[tuple[int, str]]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports(path.read_text("utf-8"), package)


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == f"appliance.{p}" or module.startswith(f"appliance.{p}.") for p in prefixes)


def offences(name: str, banned: tuple[str, ...], allowed: tuple[str, ...] | None) -> list[str]:
    """file:line lines for imports of `banned` modules or, when `allowed` is given, of any
    appliance module outside `allowed` (and `name` itself)."""
    found: list[str] = []
    for path in files_of(name):
        lines: set[int] = set()
        for line, module in file_imports(path):
            if allowed is None:
                bad = within(module, banned)
            else:
                bad = module.startswith("appliance.") and not within(module, (*allowed, name))
            if bad and line not in lines:
                lines.add(line)
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {module}")
    return found


def test_no_package_imports_a_layer_above_it() -> None:
    problems = [p for name, banned in FORBIDDEN for p in offences(name, banned, None)]
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_the_foundations_import_only_what_they_are_pinned_to() -> None:
    problems = [p for name, allowed in ONLY for p in offences(name, (), allowed)]
    assert not problems, "imports outside the pinned set:\n" + "\n".join(problems)


def test_every_rule_names_modules_that_exist() -> None:
    names = {name for name, _ in FORBIDDEN + ONLY}
    names |= {p for _, prefixes in FORBIDDEN + ONLY for p in prefixes}
    missing = sorted(n for n in names if not files_of(n))
    assert not missing, f"rules name modules that do not exist (moved?): {missing}"


def test_the_checker_sees_deferred_and_relative_imports() -> None:
    source = "def f():\n    from appliance.services.runtime import x\n\nfrom ..sip import y\n"
    found = [module for _, module in imports(source, "appliance.admin")]
    assert "appliance.services.runtime" in found and "appliance.sip.y" in found
    assert within("appliance.services.runtime", ("services.runtime",))
    assert within("appliance.services.runtime", ("services",))
    assert not within("appliance.services.runtimes", ("services.runtime",))
