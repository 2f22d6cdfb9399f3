"""Choosing the torch device from the `device` setting, and timing stages on it."""

import time

import torch

from zerohsi_core.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """ "auto" → the first CUDA GPU if there is one, else the CPU; "cuda" without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"device {name!r} is not a torch device (auto, cpu, cuda, cuda:N)") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but this machine has no CUDA GPU; use auto or cpu")
    return device


class StageClock:
    """Wall time of consecutive stages; waits for the device at each lap so GPU work is counted."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.laps = device, {}
        self._sync()
        self._start = self._origin = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since the clock started (up to its last lap)."""
        return self._start - self._origin

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def lap(self, name: str) -> None:
        self._sync()
        now = time.perf_counter()
        self.laps[name] = now - self._start
        self._start = now
