"""Operations whose conformance failures come from the document itself, with the reason.

docs/conformance.md lists the same operations for readers; the conformance tests print
any failure not listed here so that a new one is noticed.
"""

from __future__ import annotations

KNOWN_POSITIVE_FAILURES: dict[str, dict[str, str]] = {
    "docker-engine": {
        "POST /session": (
            "the document's only answer is 101 Switching Protocols (the daemon hijacks the "
            "connection for an HTTP/2 session); the twin answers 101 as documented, and an "
            "HTTP/1.1 client that did not ask to upgrade reports the switch as an error"
        ),
    },
    "dracoon": {
        "GET /v4/auth/reset_password/{token}": (
            "CharacterRules.mustContainCharacters is `type: array` with a string `enum` on the "
            "array itself: no value satisfies it (the twin sends an array of those strings, as "
            "the real service does)"
        ),
        "GET /v4/config/info/policies/passwords": "same CharacterRules defect",
        "GET /v4/system/config/policies/passwords": "same CharacterRules defect",
        "GET /v4/system/config/policies/passwords/{password_type}": "same CharacterRules defect",
        "PUT /v4/system/config/policies/passwords": "same CharacterRules defect",
        "GET /v4/system/config/oauth/clients": (
            "OAuthClient.grantTypes is `type: array` with a string `enum` on the array: "
            "unsatisfiable"
        ),
        "GET /v4/system/config/oauth/clients/{client_id}": "same OAuthClient.grantTypes defect",
        "POST /v4/system/config/oauth/clients": (
            "the request body has the same grantTypes defect: schemathesis cannot generate a "
            "valid body"
        ),
        "PUT /v4/system/config/oauth/clients/{client_id}": "same request-body defect",
    },
}

# Not failures of an operation but of one answer a check cannot judge from the document:
# DigitalNZ's paths end in `.{format}` with `format` one of json and xml, and the service
# answers in that format, but the document lists only `application/json` for the answers.
# The twin answers `/records.xml` in XML (docs/twins/digitalnz.md); tests/conformance/
# hooks.py (filter_failure) drops the "undocumented Content-Type" finding for exactly that
# case, and every other check still applies.
KNOWN_FORMAT_SUFFIX_DEFECTS = {
    "digitalnz": "`.{format}` enum offers xml; the answers document only application/json",
}

KNOWN_NEGATIVE_FAILURES: dict[str, dict[str, str]] = {
    "digitalocean": {
        "GET /v2/account/keys/{ssh_key_identifier}": (
            "the path parameter is `anyOf` two schemas that are both `readOnly` (they are "
            "response properties reused by reference); the generator treats readOnly as "
            "forbidden in requests and so considers every value invalid"
        ),
        "DELETE /v2/account/keys/{ssh_key_identifier}": "same readOnly `anyOf` parameter",
        "PUT /v2/account/keys/{ssh_key_identifier}": "same readOnly `anyOf` parameter",
    },
}

# Failures recognised by what the generator changed rather than by operation: the twin
# follows the real service where the document asks for more than the service enforces.
KNOWN_NEGATIVE_CAUSES: dict[str, list[tuple[str, str]]] = {
    "nookipedia": [
        (
            "Accept-Version)",
            "the document marks the Accept-Version header required and says in the same "
            "breath that the API does not enforce it; the twin follows the API and answers "
            "requests without it (unknown query parameters are ignored, as everywhere)",
        ),
    ],
}


def known_negative_reason(twin: str, operation: str, text: str) -> str | None:
    """Why a negative-data failure is expected, or None when it is not."""
    reason = KNOWN_NEGATIVE_FAILURES.get(twin, {}).get(operation)
    if reason is not None:
        return reason
    for marker, cause in KNOWN_NEGATIVE_CAUSES.get(twin, []):
        if marker in text:
            return cause
    return None
