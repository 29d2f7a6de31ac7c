"""Logs without PHI, Prometheus metrics, component health."""
