"""A local fake of the KLING image-to-video API: a real HTTP server on 127.0.0.1 following the documented
request and response shapes (JWT checked with the secret), scriptable per test with failures."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from zerohsi_core.io.video import write_video

ENDPOINT = "/v1/videos/image2video"
JWT_LEEWAY_S = 2  # accepted clock difference for exp/nbf
POLL_S = 0.02  # how often the server loop checks for shutdown


@dataclass
class Reply:
    """A scripted answer: HTTP status, JSON body (or raw bytes) and headers."""

    status: int
    body: dict[str, Any] | bytes = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait before answering (to trigger client time-outs)


@dataclass
class Script:
    """What the fake does next. Scripted replies are used up first, then the normal task cycle runs."""

    create: list[Reply] = field(default_factory=list)
    poll: list[Reply] = field(default_factory=list)
    statuses: list[str] = field(
        default_factory=lambda: ["submitted", "processing", "succeed"]
    )  # last repeats
    fail_message: str = "content risk detected"
    download: str = "ok"  # ok | truncated (short body, full Content-Length) | garbage | half (valid length)
    download_replies: list[Reply] = field(default_factory=list)
    echo_auth: bool = False  # put the received Authorization header into error messages (a hostile server)


@dataclass(frozen=True)
class Seen:
    """A request the fake received."""

    method: str
    path: str
    authorization: str | None
    body: dict[str, Any] | None


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_jwt(token: str, access: str, secret: str, now: float) -> str | None:
    """None if the HS256 token is valid for these keys at `now`, else the reason."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header, claims = json.loads(_b64url_decode(header_b64)), json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, binascii.Error):
        return "malformed token"
    expected = hmac.new(secret.encode(), f"{header_b64}.{claims_b64}".encode(), hashlib.sha256).digest()
    if header.get("alg") != "HS256" or not hmac.compare_digest(signature, expected):
        return "bad signature"
    if claims.get("iss") != access:
        return "unknown issuer"
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if (
        not isinstance(nbf, int)
        or not isinstance(exp, int)
        or not nbf - JWT_LEEWAY_S <= now < exp + JWT_LEEWAY_S
    ):
        return "token not valid now"
    return None


class FakeKling:
    """The fake server; use as a context manager. `script` may be changed between requests."""

    def __init__(self, access: str, secret: str, video: bytes) -> None:
        self.access, self.secret, self.video = access, secret, video
        self.script = Script()
        self.seen: list[Seen] = []
        self.tasks: dict[str, int] = {}  # task id → polls so far
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_S,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeKling:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, method: str, prefix: str) -> int:
        """Requests seen with this method and a path starting with prefix."""
        return sum(1 for s in self.seen if s.method == method and s.path.startswith(prefix))

    def answer(self, method: str, path: str, auth: str | None, body: dict[str, Any] | None) -> Reply:
        """The reply to one request (called from the handler thread)."""
        with self._lock:
            self.seen.append(Seen(method, path, auth, body))
            if path.startswith("/files/"):
                return self._download()
            if not path.startswith(ENDPOINT):
                return Reply(404, {"code": 1202, "message": "no such endpoint"})
            reason = self._auth_error(auth)
            if reason:
                return Reply(
                    401, {"code": 1002, "message": self._message(f"Authorization is invalid: {reason}", auth)}
                )
            if method == "POST" and path == ENDPOINT:
                return self._create(body, auth)
            if method == "GET":
                return self._poll(path.removeprefix(ENDPOINT + "/"), auth)
            return Reply(405, {"code": 1202, "message": "invalid request method"})

    def _message(self, text: str, auth: str | None) -> str:
        return f"{text} (received {auth!r} for issuer {self.access})" if self.script.echo_auth else text

    def _auth_error(self, auth: str | None) -> str | None:
        if not auth or not auth.startswith("Bearer "):
            return "missing Bearer token"
        return verify_jwt(auth.removeprefix("Bearer "), self.access, self.secret, time.time())

    def _create(self, body: dict[str, Any] | None, auth: str | None) -> Reply:
        if self.script.create:
            return self.script.create.pop(0)
        problem = _check_create_body(body)
        if problem:
            return Reply(400, {"code": 1201, "message": self._message(problem, auth)})
        task_id = f"task-{len(self.tasks) + 1}"
        self.tasks[task_id] = 0
        data = {"task_id": task_id, "task_status": "submitted", "created_at": 0, "updated_at": 0}
        return Reply(200, {"code": 0, "message": "SUCCEED", "request_id": "req-1", "data": data})

    def _poll(self, task_id: str, auth: str | None) -> Reply:
        if self.script.poll:
            return self.script.poll.pop(0)
        if task_id not in self.tasks:
            return Reply(
                404, {"code": 1203, "message": self._message(f"task {task_id} does not exist", auth)}
            )
        statuses = self.script.statuses
        status = statuses[min(self.tasks[task_id], len(statuses) - 1)]
        self.tasks[task_id] += 1
        data: dict[str, Any] = {"task_id": task_id, "task_status": status, "created_at": 0, "updated_at": 0}
        if status == "failed":
            data["task_status_msg"] = self.script.fail_message
        if status == "succeed":
            data["task_result"] = {
                "videos": [{"id": "v1", "url": f"{self.url}/files/{task_id}.mp4", "duration": "5"}]
            }
        return Reply(200, {"code": 0, "message": "SUCCEED", "request_id": "req-2", "data": data})

    def _download(self) -> Reply:
        if self.script.download_replies:
            return self.script.download_replies.pop(0)
        mode, video = self.script.download, self.video
        if mode == "truncated":  # announce the whole file, send half, close
            return Reply(200, video[: len(video) // 2], {"Content-Length": str(len(video))})
        if mode == "garbage":
            return Reply(200, bytes(range(256)) * 16)
        if mode == "half":
            return Reply(200, video[: len(video) // 2])
        return Reply(200, video, {"Content-Type": "video/mp4"})


def _check_create_body(body: dict[str, Any] | None) -> str | None:
    """The documented create-task fields, checked like the service would; None if acceptable."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if not isinstance(body.get("model_name"), str) or not isinstance(body.get("prompt"), str):
        return "model_name and prompt are required strings"
    try:
        image = base64.b64decode(body.get("image", ""), validate=True)
    except (binascii.Error, TypeError):
        return "image must be base64"
    if not image.startswith(b"\x89PNG"):
        return "image is not a PNG"
    if body.get("mode") not in ("std", "pro") or body.get("duration") not in ("5", "10"):
        return "mode must be std|pro and duration '5'|'10'"
    if not 0.0 <= float(body.get("cfg_scale", 0.5)) <= 1.0:
        return "cfg_scale must be in [0, 1]"
    return None


def _handler(fake: FakeKling) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._respond(fake.answer("GET", self.path, self.headers.get("Authorization"), None))

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            self._respond(fake.answer("POST", self.path, self.headers.get("Authorization"), body))

        def _respond(self, reply: Reply) -> None:
            time.sleep(reply.delay_s)
            payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            headers = {
                "Content-Type": "application/json",
                "Content-Length": str(len(payload)),
                **reply.headers,
            }
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            if int(headers["Content-Length"]) != len(payload):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (keep the test output quiet)
            return

    return Handler


def grey_clip(path: Path) -> bytes:
    """A small MP4 (6 grey frames of 48², 30 fps) for the fake server to deliver; written to `path`."""
    frames = np.full((6, 48, 48, 3), 128, np.uint8)
    return write_video(frames, path, 30.0).read_bytes()
