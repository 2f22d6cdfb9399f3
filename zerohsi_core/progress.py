"""Progress reporting and cooperative cancellation shared by every long-running stage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from zerohsi_core.errors import Cancelled


@dataclass(frozen=True)
class ProgressEvent:
    """One step of work: which stage, where in it (0–1), and the current loss if any."""

    stage: str
    progress: float  # 0..1 within the stage
    frame: int = -1
    iteration: int = -1
    loss: float = float("nan")
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


class CancelToken:
    """Set by the caller (another thread); checked by stages between iterations. A token made with a
    parent is cancelled with it too (stopping one part of the work without cancelling the caller's)."""

    def __init__(self, parent: CancelToken | None = None) -> None:
        self._event = threading.Event()
        self._parent = parent

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self._parent is not None and self._parent.cancelled)

    def check(self) -> None:
        """Raise Cancelled if cancellation was asked for."""
        if self.cancelled:
            raise Cancelled("cancelled by the caller")


def report(callback: ProgressCallback | None, event: ProgressEvent) -> None:
    """Send an event if there is a callback."""
    if callback is not None:
        callback(event)


def check(cancel: CancelToken | None) -> None:
    """Raise Cancelled if the (optional) token was cancelled."""
    if cancel is not None:
        cancel.check()


def serialized(callback: ProgressCallback | None) -> ProgressCallback | None:
    """The callback behind a lock, for stages that report from two threads at once (track-ahead)."""
    if callback is None:
        return None
    lock = threading.Lock()

    def call(event: ProgressEvent) -> None:
        with lock:
            callback(event)

    return call
