"""Bodies the daemon streams: multiplexed stdout/stderr frames, newline-delimited JSON.

A container without a TTY has its output framed: 8 bytes ``[stream, 0, 0, 0, size]``
(size big-endian) before each chunk, stream 1 for stdout and 2 for stderr; with a TTY
the bytes are sent as they are. Progress and event streams are JSON objects, one per
line, flushed as they happen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson

from apitwin.engine.context import Reply

__all__ = ["frame", "human_duration", "json_lines", "ndjson_reply", "raw_stream_reply"]

RAW_STREAM = b"application/vnd.docker.raw-stream"
POLL_SECONDS = 0.05


def frame(stream: int, payload: bytes) -> bytes:
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload


def json_lines(values: Iterable[Any]) -> bytes:
    return b"".join(orjson.dumps(value) + b"\r\n" for value in values)


def ndjson_reply(stream: AsyncIterator[bytes]) -> Reply:
    return Reply(200, [(b"content-type", b"application/json")], stream=stream)


def raw_stream_reply(body: bytes) -> Reply:
    return Reply(200, [(b"content-type", RAW_STREAM)], body)


def human_duration(seconds: float) -> str:
    """The daemon's (go-units HumanDuration) words for a duration: ``Up 3 seconds``."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = whole // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(whole / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"
