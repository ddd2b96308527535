"""Counts Argon2 computations (a hash made or checked) during a test."""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher


@pytest.fixture
def argon2_calls(monkeypatch):
    calls = []
    encode, verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def counted_encode(self, *args, **kwargs):
        calls.append("encode")
        return encode(self, *args, **kwargs)

    def counted_verify(self, *args, **kwargs):
        calls.append("verify")
        return verify(self, *args, **kwargs)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", counted_encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", counted_verify)
    return calls
