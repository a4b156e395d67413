"""Operations whose conformance failures come from the document itself, with the reason.

docs/conformance.md lists the same operations for readers; the conformance tests print
any failure not listed here so that a new one is noticed.
"""

from __future__ import annotations

KNOWN_POSITIVE_FAILURES: dict[str, dict[str, str]] = {
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
