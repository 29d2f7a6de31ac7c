"""Check the ruleset the kernel has loaded (`nft -j list ruleset`), not the one on disk."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

HOOKS = ("input", "forward", "output")
# A rule that accepts must match one of these on the far end of the flow.
_PEER_FIELD = {"input": "saddr", "forward": "", "output": "daddr"}
_IFACE_KEY = {"input": ("iif", "iifname"), "forward": (), "output": ("oif", "oifname")}


def load_ruleset() -> Mapping[str, Any]:
    nft = shutil.which("nft") or "/usr/sbin/nft"
    result = subprocess.run(
        [nft, "-j", "list", "ruleset"], capture_output=True, text=True, timeout=10, check=False
    )
    if result.returncode != 0:
        raise OSError(result.stderr.strip() or f"nft exited {result.returncode}")
    data: Mapping[str, Any] = json.loads(result.stdout or '{"nftables": []}')
    return data


def _is_everything(right: Any) -> bool:
    """An address match that matches any address (0.0.0.0/0, ::/0)."""
    if isinstance(right, dict) and "prefix" in right:
        return int(right["prefix"].get("len", 32)) == 0
    if isinstance(right, dict) and "set" in right:
        return any(_is_everything(item) for item in right["set"])
    return False


def _only_neighbour_discovery(right: Any) -> bool:
    """IPv6 neighbour discovery stays on the link, so accepting it opens no path out."""
    items = right["set"] if isinstance(right, dict) and "set" in right else [right]
    return all(isinstance(i, str) and i.startswith("nd-") for i in items)


def _constrains(match: Mapping[str, Any], hook: str) -> bool:
    left, right, op = match.get("left", {}), match.get("right"), match.get("op", "==")
    if op not in ("==", "in"):
        return False
    if "payload" in left and left["payload"].get("protocol") == "icmpv6":
        return _only_neighbour_discovery(right)
    if "payload" in left and left["payload"].get("field") == _PEER_FIELD[hook]:
        return not _is_everything(right)
    if "meta" in left and left["meta"].get("key") in _IFACE_KEY[hook]:
        return right == "lo"
    if "ct" in left and left["ct"].get("key") == "state":
        states = right if isinstance(right, list) else [right]
        return "new" not in states and "untracked" not in states
    return False


def broad_accepts(ruleset: Mapping[str, Any]) -> list[str]:
    """Accepting rules in input/forward/output base chains that do not pin the peer."""
    hooks = _base_chain_hooks(ruleset)
    problems = []
    for item in ruleset.get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        hook = hooks.get((rule["family"], rule["table"], rule["chain"]))
        if hook is None:
            continue
        exprs = rule.get("expr", [])
        if not any("accept" in e for e in exprs):
            continue
        if not any("match" in e and _constrains(e["match"], hook) for e in exprs):
            where = f"{rule['family']} {rule['table']} {rule['chain']}"
            problems.append(f"{where}: rule {rule.get('handle')} accepts any peer ({hook})")
    return problems


def _base_chain_hooks(ruleset: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
    hooks = {}
    for item in ruleset.get("nftables", []):
        chain = item.get("chain")
        if chain and chain.get("hook") in HOOKS and chain.get("type", "filter") == "filter":
            hooks[(chain["family"], chain["table"], chain["name"])] = chain["hook"]
    return hooks


def policy_problems(ruleset: Mapping[str, Any]) -> list[str]:
    """Each of input/forward/output needs a base chain (ip or inet) with policy drop."""
    dropping = set()
    for item in ruleset.get("nftables", []):
        chain = item.get("chain")
        if chain and chain.get("family") in ("inet", "ip") and chain.get("policy") == "drop":
            dropping.add(chain.get("hook"))
    return [f"no {hook} chain with policy drop" for hook in HOOKS if hook not in dropping]


def check_loaded(ruleset: Mapping[str, Any]) -> list[str]:
    return policy_problems(ruleset) + broad_accepts(ruleset)
