"""Exceptions of zerohsi_core: each says what went wrong and what to do about it."""


class ZeroHSIError(Exception):
    """Base class of every error raised on purpose by zerohsi_core."""


class ConfigError(ZeroHSIError):
    """A configuration key is unknown, has the wrong type or an invalid value."""


class AssetError(ZeroHSIError):
    """A file the pipeline needs (scene, mesh, model weights) is missing or malformed."""


class InputError(ZeroHSIError):
    """A request carries invalid values (NaN poses, wrong shapes, empty prompts, …)."""


class BackendError(ZeroHSIError):
    """A backend is unknown, unavailable on this machine, or failed while running."""


class Cancelled(ZeroHSIError):
    """The caller cancelled the work through its cancel token."""
