"""Proof of isolation: nftables ruleset, unit sandbox checks, egress probes, report."""
