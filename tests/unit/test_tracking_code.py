"""Tracking codes: each character uniform over the alphabet, from one read of the random source."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from shared.security import TRACKING_CODE_LENGTH, new_tracking_code

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _feed(monkeypatch: pytest.MonkeyPatch, values: itertools.cycle[int] | list[int]) -> None:
    source = iter(values)
    monkeypatch.setattr("secrets.token_bytes", lambda n: bytes(next(source) for _ in range(n)))


def test_each_byte_below_the_cut_maps_to_one_character_equally_often(monkeypatch: pytest.MonkeyPatch) -> None:
    _feed(monkeypatch, list(range(256 - 256 % len(ALPHABET))))
    drawn = "".join(new_tracking_code() for _ in range(31))
    assert Counter(drawn) == dict.fromkeys(ALPHABET, 256 // len(ALPHABET))


def test_bytes_past_the_last_whole_alphabet_are_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # 248-255 would be A-H again (a bias of 9 in 256 against 8 for the others): they are skipped.
    _feed(monkeypatch, [*range(248, 256), *[30] * TRACKING_CODE_LENGTH])
    assert new_tracking_code() == "9" * TRACKING_CODE_LENGTH


def test_codes_are_of_the_alphabet_and_differ() -> None:
    codes = {new_tracking_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == TRACKING_CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)
