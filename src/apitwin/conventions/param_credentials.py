"""Credentials an API takes as plain parameters rather than declared security schemes.

Several documents say "send your key in this header" only by declaring an ordinary
parameter on their operations (shared/twins/README.md, pattern 4): Discourse's
``Api-Key`` + ``Api-Username`` headers, Nookipedia's ``X-API-KEY``, DigitalNZ's
``Authentication-Token`` header beside its ``api_key`` query scheme, DRACOON's
``X-Sds-Auth-Token``. The profile names them (``auth.parameters``); each entry becomes a
requirement on exactly the operations that declare the parameter, so the document stays
the source of which operations are secured:

- an operation without any security requirement gets the parameter as its requirement
  (Nookipedia, Discourse);
- an operation with requirements gets it as one more alternative (DigitalNZ's header
  beside its query key, DRACOON's legacy token beside OAuth);
- an operation marked public (``security: []``) stays public.

An entry whose ``scheme`` names a scheme of the document is another place to send that
scheme's credential (DigitalNZ: the same key in the header); otherwise it is a scheme of
its own, and ``POST /__apitwin__/credentials`` issues keys for it.

A value is well-formed when it fits the parameter's own schema (Nookipedia's key is a
``uuid``); a malformed one counts as missing, as the real services refuse it the same way.

``"everywhere": true`` is for a service that checks the key on every request, whatever
its document declares (Discourse): on the operations that do not declare the parameter,
a key that is sent is still checked (strict mode: it must be one the twin issued), and
a request without one passes as the document has it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from apitwin.schema.params import EMPTY, MISSING, ParamDecoder, RequestParts
from apitwin.schema.validate import CompiledValidator

__all__ = [
    "VALUE_STYLES",
    "ParameterCredential",
    "new_value",
    "parameter_extractor",
    "presented_extractor",
    "read_parameter_credentials",
]

Extractor = Callable[[RequestParts], str | None]

# How a generated key looks, so that it passes the parameter's own schema.
VALUE_STYLES = ("token", "uuid", "hex64")
_LOCATIONS = ("header", "query", "cookie")


@dataclass(frozen=True)
class ParameterCredential:
    """One profile entry: where the credential travels and what must come with it."""

    scheme: str
    location: str
    name: str
    companions: tuple[tuple[str, str], ...] = ()  # (location, name) sent beside the key
    value_style: str = "token"
    everywhere: bool = False  # checked when sent to operations that do not declare it

    def matches(self, location: str, name: str) -> bool:
        return _same(self.location, self.name, location, name)


def _same(location: str, name: str, other_location: str, other_name: str) -> bool:
    if location != other_location:
        return False
    return name.lower() == other_name.lower() if location == "header" else name == other_name


def _place(text: Any, where: str) -> tuple[str, str]:
    """``"header:Api-Username"`` as (location, name)."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"{where}: expected 'location:name', got {text!r}")
    location, _, name = text.partition(":")
    if location not in _LOCATIONS or not name:
        raise ValueError(f"{where}: location must be one of {', '.join(_LOCATIONS)}")
    return location, name


def read_parameter_credentials(config: dict[str, Any]) -> list[ParameterCredential]:
    """The profile's ``auth.parameters``; a malformed entry is a profile defect (ValueError)."""
    entries = config.get("parameters") or []
    if not isinstance(entries, list):
        raise ValueError("auth.parameters must be a list")
    result: list[ParameterCredential] = []
    for index, entry in enumerate(entries):
        where = f"auth.parameters[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object")
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ValueError(f"{where}: 'name' (the parameter's name) is required")
        location, name = _place(f"{entry.get('in')}:{entry['name']}", where)
        style = entry.get("value", "token")
        if style not in VALUE_STYLES:
            raise ValueError(f"{where}.value must be one of {', '.join(VALUE_STYLES)}")
        result.append(
            ParameterCredential(
                scheme=str(entry.get("scheme") or name),
                location=location,
                name=name,
                companions=tuple(_place(c, where) for c in entry.get("with", ())),
                value_style=style,
                everywhere=_flag(entry.get("everywhere", False), f"{where}.everywhere"),
            )
        )
    return result


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false")
    return value


def new_value(style: str) -> str:
    """A fresh key in the form the API's parameter schema asks for."""
    if style == "uuid":
        return str(uuid.uuid4())
    if style == "hex64":
        return secrets.token_hex(32)  # Discourse: 64 hex characters
    return secrets.token_urlsafe(32)


def _raw(location: str, name: str) -> Extractor:
    """Presence of a parameter the operation does not declare (a companion header)."""
    if location == "header":
        lowered = name.lower()
        return lambda parts: parts.headers.get(lowered)
    if location == "query":
        return lambda parts: parts.query[name][0] if parts.query.get(name) else None
    return lambda parts: parts.cookies.get(name)


def _declared(decoder: ParamDecoder, validator: CompiledValidator | None) -> Extractor:
    """The parameter's value when present and valid against its own schema, else None."""

    def extract(parts: RequestParts) -> str | None:
        value = decoder.extract(parts)
        if value is MISSING:
            return None
        if value is EMPTY:
            return ""
        if validator is not None and not validator.is_valid(value):
            return None
        return str(value)

    return extract


Declared = Iterable[tuple[ParamDecoder, CompiledValidator | None]]


def presented_extractor(credential: ParameterCredential) -> Extractor:
    """The key as sent to an operation that does not declare its parameter; None when it
    is absent or empty (an empty header is no key)."""
    raw = _raw(credential.location, credential.name)
    return lambda parts: raw(parts) or None


def parameter_extractor(credential: ParameterCredential, declared: Declared) -> Extractor | None:
    """How to read ``credential`` off a request to an operation with ``declared``
    parameters; None when the operation does not declare the credential's parameter."""
    by_place: dict[tuple[str, str], Extractor] = {}
    key: Extractor | None = None
    for decoder, validator in declared:
        spec = decoder.spec
        if credential.matches(spec.location, spec.name):
            key = _declared(decoder, validator)
        for location, name in credential.companions:
            if _same(location, name, spec.location, spec.name):
                by_place[(location, name)] = _declared(decoder, validator)
    if key is None:
        return None
    companions = [by_place.get(place) or _raw(*place) for place in credential.companions]
    if not companions:
        return key
    main = key

    def with_companions(parts: RequestParts) -> str | None:
        if any(companion(parts) is None for companion in companions):
            return None
        return main(parts)

    return with_companions
