"""E-mail addresses as Fibe compares them.

An address is stored as typed after NFKC normalisation and lower-casing (full-width letters
become ASCII, so the address is the one the person meant). Two addresses are the same account
when their canonical forms, NFKC case-folded (Unicode's NFKC_Casefold idea), are equal: sign-up,
sign-in, password reset and the throttle all compare canonical forms."""

import unicodedata


def normalize_email(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip().lower()


def canonical_email(value: str) -> str:
    return unicodedata.normalize("NFKC", normalize_email(value).casefold())
