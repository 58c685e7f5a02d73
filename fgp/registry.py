"""One name -> class registry shared by search spaces, encoders and pretext tasks (timm style)."""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from typing import Any


class Registry:
    """Classes registered by name with a decorator, listed with wildcards and built through one factory."""

    def __init__(self, kind: str):
        self.kind = kind  # what an entry is, for error messages ("encoder", "search space", ...)
        self._entries: dict[str, type] = {}

    def register(self, name: str) -> Callable[[type], type]:
        def deco(cls: type) -> type:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            cls.name = name
            self._entries[name] = cls
            return cls

        return deco

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style wildcard, e.g. ``"g*"``."""
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def get(self, name: str) -> type:
        """The class registered under ``name``."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {self.names()}")
        return self._entries[name]

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)

    def resolved_kwargs(self, name: str, kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
        """The constructor's keyword defaults of ``name`` overridden by ``kwargs``: the full configuration."""
        params = inspect.signature(self.get(name).__init__).parameters.values()
        defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        return {**defaults, **(kwargs or {})}
