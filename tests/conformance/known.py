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

# Answers schemathesis's not_a_server_error check counts as failures although the document
# declares them for this very case and the real service gives them: Docker Engine's swarm
# endpoints, on a daemon that is not a swarm manager (the twin never is: swarm mode is not
# modelled, docs/twins/docker-engine.md), answer 503 with the daemon's message, which is
# the 503 every one of them documents ("node is not part of a swarm"). hooks.py
# (filter_failure) drops the server-error finding for exactly these bodies on operations
# that declare 503; every other check still applies to them.
_OUTSIDE_A_SWARM = (
    "the daemon outside a swarm answers the 503 the operation documents for that case; "
    "swarm mode is not modelled"
)
KNOWN_DOCUMENTED_UNAVAILABLE: dict[str, dict[str, str]] = {
    "docker-engine": {
        'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
        "to connect this node to swarm and try again.": _OUTSIDE_A_SWARM,
        "This node is not part of a swarm": _OUTSIDE_A_SWARM,
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

# Failures recognised by what the generator changed rather than by operation: the twin
# follows the real service where the document asks for more than the service enforces.
# A marker is a text, or several texts that must all appear in the failure.
KNOWN_NEGATIVE_CAUSES: dict[str, list[tuple[str | tuple[str, ...], str]]] = {
    "docker-engine": [
        (
            "became null)",
            "a body member sent as null is read as not set (profile request_unset_values), "
            "as the daemon reads Go's nil: the docker CLI sends null for every empty list "
            "and map",
        ),
    ],
    "digitalocean": [
        (
            '": null',
            "an optional member sent as null is read as not sent (profile request_nulls), "
            "as the service does: python-digitalocean sends every unset option as null",
        ),
    ],
    "nookipedia": [
        (
            "Accept-Version)",
            "the document marks the Accept-Version header required and says in the same "
            "breath that the API does not enforce it; the twin follows the API and answers "
            "requests without it (unknown query parameters are ignored, as everywhere)",
        ),
    ],
    "digitalnz": [
        (
            # "violates `required`", or "violates `additionalProperties`, `required`"
            ("parameter `api_key` in query - violates", "`required`", "Authentication-Token:"),
            "the generator dropped the api_key query key but sent the Authentication-Token "
            "header that every operation declares; DigitalNZ takes the same key in either "
            "place (its sheet: the current API uses the header), so the twin accepts it",
        ),
    ],
}


def known_negative_reason(twin: str, operation: str, text: str) -> str | None:
    """Why a negative-data failure is expected, or None when it is not."""
    reason = KNOWN_NEGATIVE_FAILURES.get(twin, {}).get(operation)
    if reason is not None:
        return reason
    for marker, cause in KNOWN_NEGATIVE_CAUSES.get(twin, []):
        markers = (marker,) if isinstance(marker, str) else marker
        if all(part in text for part in markers):
            return cause
    return None


_LIST_SCHEMA = (
    "twin gap: items created through the API are stored valid for the item schema, and the "
    "list answers them through a list schema that types the same fields differently"
)

# Operations failing a check of the stateful run (test_stateful.py), with the reason:
# document defects as above, and gaps of the twin still open.
_DO_422 = (
    "the service answers 422 unprocessable_entity, as the twin does, to a schema-valid body "
    "that names {what}; the document declares no 422 here, and positive_data_acceptance "
    "accepts none"
)
KNOWN_STATEFUL_FAILURES: dict[str, dict[str, str]] = {
    "digitalocean": {
        "DELETE /v2/images/{image_id}": _DO_422.format(what="a public image"),
        "POST /v2/cdn/endpoints": (
            "twin gap: an endpoint made without a custom domain is answered with "
            "`certificate_id` and `custom_domain` as empty strings, which the document types "
            "as a uuid and a hostname"
        ),
        "GET /v2/cdn/endpoints": "twin gap: the same empty `certificate_id` and `custom_domain`",
        "POST /v2/firewalls": (
            "twin gap: a firewall created with an empty name (the request schema has no "
            "pattern) is answered with it, which the answer's name pattern does not allow"
        ),
        "PUT /v2/images/{image_id}": _DO_422.format(what="a public image"),
        "PUT /v2/apps/{id}": _DO_422.format(what="another region (an app cannot move)"),
        "PUT /v2/databases/{database_cluster_uuid}/maintenance": (
            "twin gap: a schema-valid body (its `day` an enum of weekdays in the corrected "
            "copy) is still answered 422; the cause is not found yet"
        ),
        "DELETE /v2/projects/{project_id}": (
            "the default project, or one holding resources, cannot be deleted: 412 "
            "precondition_failed as documented, which positive_data_acceptance does not accept"
        ),
    },
    "dracoon": {
        **KNOWN_POSITIVE_FAILURES["dracoon"],
        "DELETE /v4/settings/keypair": (
            "twin gap: with no key pair stored the twin answers 404, which the document does "
            "not declare for this path (it has no path parameter, so no correction applies)"
        ),
        "POST /v4/provisioning/customers": (
            "twin gap: the create answers the stored customer, which lacks "
            "`firstAdminUser`, a field only the create response (NewCustomerResponse) has"
        ),
    },
    "docker-engine": {
        "POST /session": KNOWN_POSITIVE_FAILURES["docker-engine"]["POST /session"],
    },
    "discourse": {
        "POST /categories.json": (
            "`parent_category_id` must name a category that exists; the generator picks "
            "random ids, and the twin refuses them with 422 'Parent category does not exist', "
            "as the service refuses a category it cannot save"
        ),
    },
}

# Twins below 95% in the stateful run, with what keeps them there (strict xfail, so the
# test reports when they reach it).
STATEFUL_SHORTFALLS: dict[str, str] = {}
