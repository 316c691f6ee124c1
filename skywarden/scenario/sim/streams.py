"""Random streams: one numpy Generator per entity, derived from the night's seed and the entity's ids.

A stream is keyed by strings (``stream(seed, "radar", "radar-north")``) hashed with SHA-256, so
adding, removing or reordering one entity never reshuffles the draws of any other, and the same
keys give the same draws in every process (Python's ``hash`` of a string is salted per process;
SHA-256 is not).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream(seed: int, *keys: str) -> np.random.Generator:
    """A PCG64 generator for (seed, keys...): independent of every other key tuple."""
    h = hashlib.sha256(repr((int(seed), *keys)).encode("utf-8")).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(h[:16], "little")))


def token(seed: int, *keys: str, n: int = 8) -> str:
    """A short opaque upper-case hex id for (seed, keys...), e.g. for report ids."""
    return hashlib.sha256(repr((int(seed), "token", *keys)).encode("utf-8")).hexdigest()[:n].upper()
