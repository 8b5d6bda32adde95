"""The repository around a change, read-only: trees at head and base, search, symbols, related code."""
