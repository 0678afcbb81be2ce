"""Bearer tokens, checked against the sha256 hex digests stored in the config."""

from __future__ import annotations

import hashlib
import hmac

from flask import abort, current_app, request

from .context import hostwatch


def require_token() -> None:
    """Abort with 401 unless the request carries a configured token (no tokens: open)."""
    hashes = hostwatch().config.auth.token_sha256
    if not hashes:
        return
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        # compare with every stored hash, so timing says nothing about which one (if any) matched
        matched = [hmac.compare_digest(digest, h) for h in hashes]
        if any(matched):
            return
        current_app.logger.warning("rejected bearer token from %s", request.remote_addr)
    abort(401, description="this resource needs 'Authorization: Bearer <token>'")
