"""Schemathesis hooks for the conformance runs (loaded through SCHEMATHESIS_HOOKS).

Docker Engine takes tar archives as request bodies (image load, plugin create, archive
upload); schemathesis has no serializer for them. Generated binary content stands for
"some archive" and is sent as an empty tar archive (what a client uploading an empty
build context sends); values of other types, which only negative testing produces, are
sent as their JSON text so that the twin must reject them.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

EMPTY_TAR = b"\0" * 1024


@schemathesis.serializer("application/x-tar")
def tar_archive(ctx: Any, value: Any) -> bytes:
    if isinstance(value, bytes | str):
        return EMPTY_TAR
    return json.dumps(value).encode()
