"""Admin API and web UI (litestar)."""
