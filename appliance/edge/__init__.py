"""The Kamailio SIP edge: running it (kamailio.py), its rendered configuration, JSON-RPC,
redacted log, registrations, TLS, outbound relay and the OPTIONS health check."""
