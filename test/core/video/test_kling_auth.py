"""KLING credentials: key sources, the HS256 JWT (checked by an independent verifier), no leaks in reprs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fake_kling import verify_jwt

from zerohsi_core.errors import BackendError
from zerohsi_core.video.kling_auth import KlingKeys, encode_jwt, load_keys

ACCESS, SECRET = "AKplantedACCESS7f3c91", "SKplantedSECRET0d2e84b6"
NOW = 1_800_000_000.0


def _claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_jwt_claims_and_signature() -> None:
    token = encode_jwt(KlingKeys(ACCESS, SECRET), NOW, ttl_s=1800, not_before_skew_s=5)
    assert _claims(token) == {"iss": ACCESS, "exp": int(NOW) + 1800, "nbf": int(NOW) - 5}
    assert verify_jwt(token, ACCESS, SECRET, NOW) is None
    assert verify_jwt(token, ACCESS, SECRET + "x", NOW) == "bad signature"
    assert verify_jwt(token, ACCESS, SECRET, NOW + 3600) == "token not valid now"
    assert "=" not in token and token.count(".") == 2  # base64url without padding (RFC 7515)


def test_keys_from_environment_and_missing_keys_name_every_source() -> None:
    keys = load_keys("", {"KLING_ACCESS_KEY": f" {ACCESS} ", "KLING_SECRET_KEY": SECRET})
    assert (keys.access, keys.secret) == (ACCESS, SECRET)
    with pytest.raises(BackendError) as err:
        load_keys("", {"KLING_ACCESS_KEY": ACCESS})
    assert all(
        name in str(err.value) for name in ("KLING_ACCESS_KEY", "KLING_SECRET_KEY", "video.kling_key_file")
    )
    assert ACCESS not in str(err.value)


@pytest.mark.parametrize(
    "text", [f"{ACCESS}:{SECRET}\n", f"{ACCESS}\n{SECRET}\n", f"\n {ACCESS} : {SECRET} \n"]
)
def test_key_file_formats(tmp_path: Path, text: str) -> None:
    (tmp_path / "keys").write_text(text)
    keys = load_keys(str(tmp_path / "keys"), {})
    assert (keys.access, keys.secret) == (ACCESS, SECRET)


def test_key_file_errors_do_not_quote_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad").write_text(f"{SECRET}\n")
    with pytest.raises(BackendError, match="must hold 'ACCESS_KEY:SECRET_KEY'") as err:
        load_keys(str(tmp_path / "bad"), {})
    assert SECRET not in str(err.value)
    with pytest.raises(BackendError, match="cannot read the KLING key file .*video.kling_key_file"):
        load_keys(str(tmp_path / "none"), {"KLING_ACCESS_KEY": ACCESS, "KLING_SECRET_KEY": SECRET})


def test_repr_and_redact_hide_the_keys() -> None:
    keys = KlingKeys(ACCESS, SECRET)
    assert ACCESS not in repr(keys) and SECRET not in repr(keys)
    assert keys.redact(f"got {ACCESS} and {SECRET}") == "got *** and ***"
