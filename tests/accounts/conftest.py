from .hashing import argon2_calls  # noqa: F401
