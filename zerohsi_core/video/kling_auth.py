"""KLING API credentials: the access/secret key pair and the HS256 JWT sent as `Authorization: Bearer`.

Keys come from the key file named by `video.kling_key_file` when it is set ("ACCESS:SECRET" on one line,
or access and secret on two lines), else from the environment (KLING_ACCESS_KEY, KLING_SECRET_KEY). Keys
and tokens never appear in messages, logs or reprs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zerohsi_core.errors import BackendError

ACCESS_ENV = "KLING_ACCESS_KEY"
SECRET_ENV = "KLING_SECRET_KEY"
KEY_FILE_SETTING = "video.kling_key_file"
JWT_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True)
class KlingKeys:
    """An access key (the JWT issuer) and the secret that signs the JWT; both hidden from repr."""

    access: str = field(repr=False)
    secret: str = field(repr=False)

    def redact(self, text: str) -> str:
        """`text` with every occurrence of either key replaced by ***."""
        for value in (self.access, self.secret):
            text = text.replace(value, "***")
        return text


def load_keys(key_file: str = "", environ: Mapping[str, str] | None = None) -> KlingKeys:
    """Keys from `key_file` if given, else from the environment; BackendError saying where to put them."""
    if key_file:
        return _read_key_file(Path(key_file).expanduser())
    env = os.environ if environ is None else environ
    access, secret = env.get(ACCESS_ENV, "").strip(), env.get(SECRET_ENV, "").strip()
    if not access or not secret:
        raise BackendError(
            f"KLING API keys not found: set the environment variables {ACCESS_ENV} and {SECRET_ENV}, or "
            f"{KEY_FILE_SETTING} to a file holding 'ACCESS_KEY:SECRET_KEY'"
        )
    return KlingKeys(access, secret)


def _read_key_file(path: Path) -> KlingKeys:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise BackendError(f"cannot read the KLING key file {path} ({KEY_FILE_SETTING}): {reason}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and ":" in lines[0]:
        access, _, secret = lines[0].partition(":")
    elif len(lines) == 2:
        access, secret = lines
    else:
        access = secret = ""
    if not access.strip() or not secret.strip():
        raise BackendError(
            f"KLING key file {path} ({KEY_FILE_SETTING}) must hold 'ACCESS_KEY:SECRET_KEY' on one line "
            "or the access and secret keys on two lines"
        )
    return KlingKeys(access.strip(), secret.strip())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_jwt(keys: KlingKeys, now: float, ttl_s: float, not_before_skew_s: float) -> str:
    """HS256 JWT with claims iss = access key, exp = now + ttl, nbf = now − skew (RFC 7519, KLING docs)."""
    claims = {"iss": keys.access, "exp": int(now + ttl_s), "nbf": int(now - not_before_skew_s)}
    segments = [_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (JWT_HEADER, claims)]
    signing_input = ".".join(segments).encode("ascii")
    signature = hmac.new(keys.secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return ".".join([*segments, _b64url(signature)])
