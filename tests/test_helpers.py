"""The shared test helpers are what their names say (a broken helper would let tests pass)."""

from __future__ import annotations

import zlib

import pytest

from servers import gzip_zeros


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (3 << 20) + 7])
def test_gzip_zeros_is_one_gzip_member_of_exactly_that_many_zeros(size: int) -> None:
    inflate = zlib.decompressobj(31)  # gzip only: the header, the CRC-32 and the size checked
    assert inflate.decompress(gzip_zeros(size)) == bytes(size)
    assert inflate.eof and not inflate.unused_data


def test_gzip_zeros_is_a_bomb_a_thousand_times_smaller_than_what_it_inflates_to() -> None:
    assert len(gzip_zeros(64 << 20)) < (64 << 20) // 1000
