"""Governance plane: tamper-evident audit chain, retention (PHI/PCI/consent to come)."""
