"""Handing freed heap memory back to the operating system between large prediction calls.

Classifying a long export allocates and frees tensors of many shapes (every pass has its own
batch size and token width). glibc keeps the freed pieces in its heaps instead of returning
them, so a process that classifies 40,000 new texts in calls of 256 kept growing: 1.9 GB after
4,000 texts, 3.3 GB after 40,000 (docs/performance.md, "Memory over a long run").
``malloc_trim(0)`` after each large call returns the free pages; resident memory then levels off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_heap() -> bool:
    """Return the heap's free memory to the operating system; whether that was possible here."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
