"""SSH keys: the fingerprint is computed from the public key (MD5 of the key blob, as
``ssh-keygen -l -E md5`` prints it), and a key is found by id or by fingerprint."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from apitwin.behaviours.digitalocean.context import (
    DigitalOcean,
    Session,
    integer_id,
    not_found,
    unprocessable,
)
from apitwin.engine.context import Reply, RequestContext

__all__ = ["Keys", "fingerprint"]

FAMILY = "account_keys"
_TYPES = (
    "ssh-rsa",
    "ssh-ed25519",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)


def fingerprint(public_key: str) -> str | None:
    """The MD5 fingerprint of an OpenSSH public key, None when it is not one."""
    parts = public_key.split()
    if len(parts) < 2 or parts[0] not in _TYPES:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def find_key(s: Session, identifier: Any) -> dict[str, Any] | None:
    ident = integer_id(identifier)
    if ident is not None:
        return s.tx.get(FAMILY, str(ident))
    found = s.tx.list(FAMILY, parent=None, filters={"fingerprint": str(identifier)}, limit=1)
    return found.items[0] if found.items else None


class Keys(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "sshKeys_create": self.create,
                "sshKeys_list": self.list,
                "sshKeys_get": self.get,
                "sshKeys_update": self.update,
                "sshKeys_delete": self.delete,
            }
        )

    def create(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        public_key = str(body.get("public_key", "")).strip()
        print_ = fingerprint(public_key)
        if print_ is None:
            raise unprocessable("Key invalid, type not supported")
        with self.session() as s:
            if find_key(s, print_) is not None:
                raise unprocessable("SSH Key is already in use on your account")
            ident = 512_000 + s.tx.next_id(FAMILY)
            key = {
                "id": ident,
                "fingerprint": print_,
                "public_key": public_key,
                "name": str(body.get("name", "")),
            }
            s.tx.put(FAMILY, str(ident), key)
        return self.reply(ctx, {"ssh_key": key})

    def list(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = s.tx.list(FAMILY, parent=None).items
        return self.page(ctx, "ssh_keys", items)

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        key = find_key(s, ctx.params.get("ssh_key_identifier"))
        if key is None:
            raise not_found()
        return key

    def get(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            key = self._load(s, ctx)
        return self.reply(ctx, {"ssh_key": key})

    def update(self, ctx: RequestContext) -> Reply:
        body = ctx.request.body if isinstance(ctx.request.body, dict) else {}
        with self.session() as s:
            key = self._load(s, ctx)
            if isinstance(body.get("name"), str):
                key["name"] = body["name"]
            s.tx.put(FAMILY, str(key["id"]), key)
        return self.reply(ctx, {"ssh_key": key})

    def delete(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            key = self._load(s, ctx)
            s.tx.delete(FAMILY, str(key["id"]))
        return self.no_content(ctx)
