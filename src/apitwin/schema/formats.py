"""Facts about OpenAPI formats shared by validation and synthesis."""

from __future__ import annotations

__all__ = ["INTEGER_RANGES"]

# The range an integer ``format`` stands for: a value outside it is invalid, as the real
# service's parser would refuse it, and a synthesized value stays inside it.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
