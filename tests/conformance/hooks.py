"""Schemathesis hooks for the conformance runs (loaded through SCHEMATHESIS_HOOKS).

Docker Engine takes tar archives as request bodies (image load, plugin create, archive
upload); schemathesis has no serializer for them. Generated binary content stands for
"some archive" and is sent as an empty tar archive (what a client uploading an empty
build context sends); values of other types, which only negative testing produces, are
sent as their JSON text so that the twin must reject them.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis

from apitwin.twins.registry import bundled_names, bundled_profile
from tests.conformance.known import KNOWN_DOCUMENTED_UNAVAILABLE

EMPTY_TAR = b"\0" * 1024


@schemathesis.serializer("application/x-tar")
def tar_archive(ctx: Any, value: Any) -> bytes:
    if isinstance(value, bytes | str):
        return EMPTY_TAR
    return json.dumps(value).encode()


# Twins that declare rate limits (DigitalOcean: 250 a minute per token, and fewer on a
# few endpoints; Docker Hub: 180 a minute) count the run's requests like any client's. A
# run makes hundreds of requests a minute with one token, so it does what a well-behaved
# client does instead of meeting 429s that would hide what the operations answer: it
# waits, on the twin clock, for an endpoint's own window before calling it, and for every
# window (an hour) when the documented remaining count runs low.
RATE_LIMIT_REMAINING = ("ratelimit-remaining", "x-ratelimit-remaining")
LOW_WATER = 10


def _endpoint_limits() -> list[tuple[str | None, str, bool, int]]:
    """(method, path, prefix, seconds) of every endpoint limit the bundled profiles declare."""
    found = []
    for name in bundled_names():
        policy = bundled_profile(name).extra.get("rate_limits") or {}
        for entry in policy.get("endpoints", []):
            seconds = max(limit["seconds"] for limit in entry["limits"])
            found.append((entry.get("method"), entry["path"], bool(entry.get("prefix")), seconds))
    return found


ENDPOINT_LIMITS = _endpoint_limits()


def _advance_clock(url: str, seconds: int) -> None:
    parts = urlsplit(url)
    clock = f"{parts.scheme}://{parts.netloc}/__apitwin__/clock"
    requests.post(clock, json={"advance": seconds}, timeout=10).raise_for_status()


# Streams that stay open until the client leaves or their lifetime on the twin clock ends
# (dweet.io's listen: profile ``listen.max_seconds``). A request/response checker waits
# for the end of the body, so the run ends such a stream as a test does: while the call
# is open it moves the twin clock past the stream's lifetime, every half second (the
# stream may not have started at the first move), for at most the request timeout.
STREAMS = {
    ("GET", "/listen/for/dweets/from/{thing}"): float(
        (bundled_profile("dweet").extra.get("listen") or {}).get("max_seconds", 3600)
    ),
}
STREAM_NUDGE_SECONDS = 0.5
STREAM_NUDGES = 20
_returned: list[threading.Event] = []  # set when the open stream's call has returned


def _end_stream(url: str, seconds: float, returned: threading.Event) -> None:
    for _ in range(STREAM_NUDGES):
        if returned.wait(STREAM_NUDGE_SECONDS):
            return
        _advance_clock(url, seconds)


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    method, path = case.method.upper(), case.path
    lifetime = STREAMS.get((method, path))
    if lifetime is not None:
        returned = threading.Event()
        _returned.append(returned)
        base = case.operation.schema.get_base_url()
        threading.Thread(target=_end_stream, args=(base, lifetime, returned), daemon=True).start()
    for limited_method, limited_path, prefix, seconds in ENDPOINT_LIMITS:
        if limited_method not in (None, method):
            continue
        if path == limited_path or (prefix and path.startswith(limited_path + "/")):
            _advance_clock(case.operation.schema.get_base_url(), seconds)
            return


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    while _returned:
        _returned.pop().set()
    for name in RATE_LIMIT_REMAINING:
        values = response.headers.get(name)
        if values and values[0].isdigit() and int(values[0]) <= LOW_WATER:
            _advance_clock(response.request.url, 3600)
            return


UNAVAILABLE_MESSAGES = {
    message for messages in KNOWN_DOCUMENTED_UNAVAILABLE.values() for message in messages
}


def _documented_unavailable(failure: Any, case: Any, response: Any) -> bool:
    """A 503 the operation declares, with a body known.py names (KNOWN_DOCUMENTED_UNAVAILABLE)."""
    if getattr(failure, "code", "") != "ST101" or response.status_code != 503:
        return False
    if "503" not in (case.operation.definition.raw.get("responses") or {}):
        return False
    try:
        message = json.loads(response.content).get("message")
    except (ValueError, AttributeError):
        return False
    return message in UNAVAILABLE_MESSAGES


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but those the document itself causes (tests/conformance/known.py):
    an XML answer to a path whose ``.{format}`` suffix asked for XML, where the document
    lists only JSON for the answer (KNOWN_FORMAT_SUFFIX_DEFECTS), and a 503 the operation
    documents for the case the service is in (KNOWN_DOCUMENTED_UNAVAILABLE)."""
    if _documented_unavailable(failure, case, response):
        return False
    if getattr(failure, "code", "") != "ST105" or ".{format}" not in case.path:
        return True
    asked = urlsplit(response.request.url).path.endswith(".xml")
    answered = response.headers.get("content-type", [""])[0].startswith("application/xml")
    return not (asked and answered)
