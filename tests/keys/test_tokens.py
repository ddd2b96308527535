import string

from hypothesis import given
from hypothesis import strategies as st

from keys import tokens


def test_token_shape_prefix_length_and_checksum():
    token = tokens.generate()
    assert token.startswith("fibe_")
    assert len(token) == tokens.TOKEN_LEN == 54
    assert set(token[5:]) <= set(string.ascii_letters + string.digits)
    assert tokens.is_well_formed(token)


def test_tokens_are_unique_and_carry_256_random_bits():
    many = {tokens.generate() for _ in range(2000)}
    assert len(many) == 2000
    # the body spreads over the whole alphabet, not a narrow subset
    assert len(set("".join(t[5:-6] for t in many))) == 62


@given(st.integers(min_value=5, max_value=tokens.TOKEN_LEN - 1), st.sampled_from(tokens.ALPHABET))
def test_any_single_character_change_breaks_the_checksum(position, replacement):
    token = tokens.generate()
    changed = token[:position] + replacement + token[position + 1 :]
    assert tokens.is_well_formed(changed) == (changed == token)


@given(st.text(max_size=80))
def test_arbitrary_text_is_not_well_formed(text):
    assert not tokens.is_well_formed(text)


def test_non_strings_are_not_well_formed():
    for value in (None, 42, b"fibe_", ["fibe_"]):
        assert not tokens.is_well_formed(value)


def test_digest_is_sha256_hex_and_never_the_token():
    token = tokens.generate()
    digest = tokens.digest(token)
    assert len(digest) == 64 and token not in digest
    assert tokens.digest(token) == digest
