"""The console: accounts, roles, sign-in with TOTP, server-side sessions, its screens."""
