"""A small registry per kind of backend (video generators, segmenters, …), chosen by name from config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from zerohsi_core.errors import BackendError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps backend names to factories; `create` on an unknown name lists the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering a factory under `name`."""

        def add(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} backend {name!r} registered twice")
            self._factories[name] = factory
            return factory

        return add

    def names(self) -> list[str]:
        """Registered backend names, sorted."""
        return sorted(self._factories)

    def create(self, name: str, *args: object, **kwargs: object) -> T:
        """Build the backend `name`; BackendError if no such backend."""
        if name not in self._factories:
            raise BackendError(f"unknown {self.kind} backend {name!r}; available: {', '.join(self.names())}")
        return self._factories[name](*args, **kwargs)
