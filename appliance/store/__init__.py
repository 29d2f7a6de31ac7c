"""Encrypted store (SQLCipher): the only place transcripts and caller details are written."""
