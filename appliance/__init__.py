"""Air-gapped voice agent appliance for hospitals and clinics."""

__version__ = "0.1.0"
