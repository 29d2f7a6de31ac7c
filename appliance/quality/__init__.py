"""Post-call quality: deterministic evaluators score every ended call (immutable rows)."""
