"""Deterministic splits by a hash of each item's key: one rule, no random state, no dependence on order.

A utility of the data modules, shown on no page. Each data module states its rule where it calls
:func:`hash_split`: the shares of each split out of ``buckets``, and the hash. The hashes differ between
data sets only because the shipped files and the course BERT were made with them (MD5 for the WordNet-derived sets, CRC-32 for the pretraining corpus the course BERT was trained
on); changing one would move examples between splits of data that already ships.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from typing import Literal

Hash = Literal["md5", "md5-64", "crc32"]
SPLITS: tuple[str, ...] = ("train", "validation", "test")
"""The split names of every data set of the course."""


def stable_hash(text: str, kind: Hash = "md5") -> int:
    """A hash that is the same on every machine and run (Python's ``hash`` is salted).

    ``"md5"``: the whole MD5 digest as an integer; ``"md5-64"``: its first 8 bytes (big-endian);
    ``"crc32"``: ``zlib.crc32``.
    """
    if kind == "crc32":
        return zlib.crc32(text.encode())
    digest = hashlib.md5(text.encode()).digest()
    if kind == "md5-64":
        return int.from_bytes(digest[:8], "big")
    if kind == "md5":
        return int.from_bytes(digest, "big")
    raise ValueError(f"unknown hash {kind!r}; use 'md5', 'md5-64' or 'crc32'")


def hash_split(
    key: str, shares: Sequence[tuple[str, int]], buckets: int, kind: Hash = "md5"
) -> str:
    """The split of ``key``: its hash modulo ``buckets`` falls in the share of one split.

    ``shares`` are ``(name, buckets of it)`` in order and add up to ``buckets``:
    ``hash_split(key, [("test", 1), ("validation", 1), ("train", 8)], 10)`` puts 10% in test.
    """
    if sum(share for _, share in shares) != buckets or any(share < 0 for _, share in shares):
        raise ValueError(f"the shares {list(shares)} must be non-negative and add up to {buckets}")
    bucket = stable_hash(key, kind) % buckets
    for name, share in shares:
        if bucket < share:
            return name
        bucket -= share
    raise AssertionError("unreachable: the shares cover every bucket")
