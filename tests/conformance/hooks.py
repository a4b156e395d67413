"""Schemathesis hooks for the conformance runs (loaded through SCHEMATHESIS_HOOKS).

Docker Engine takes tar archives as request bodies (image load, plugin create, build);
schemathesis has no serializer for them, so one is registered here: an empty archive,
which is what a client uploading an empty build context sends.
"""

from __future__ import annotations

from typing import Any

import schemathesis

EMPTY_TAR = b"\0" * 1024


@schemathesis.serializer("application/x-tar")
def tar_archive(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else EMPTY_TAR
