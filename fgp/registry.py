"""One name -> class registry shared by search spaces, encoders and pretext tasks (timm style)."""

from __future__ import annotations

import fnmatch
import inspect
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np


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
        self.check_kwargs(name, kwargs)
        return self.get(name)(*args, **kwargs)

    def check_kwargs(self, name: str, kwargs: dict[str, Any]) -> None:
        """Reject an option ``name``'s constructor does not take, or a value of the wrong kind
        (:func:`check_options`)."""
        check_options(self.get(name), kwargs, f"{self.kind} {name!r}")

    def resolved_kwargs(self, name: str, kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
        """The constructor's keyword defaults of ``name`` overridden by ``kwargs``: the full configuration."""
        cls = self.get(name)
        params = inspect.signature(cls.__init__).parameters.values()
        defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        return {**defaults, **(kwargs or {})}


def check_options(cls: type, kwargs: dict[str, Any], what: str) -> None:
    """Reject an option that ``cls``'s constructor does not take, or a value of the wrong kind for an option whose
    default or annotation is a number or a flag (None only where the annotation allows it), with a message naming
    the option and ``what`` takes it: a typo on the command line must not surface as a ``TypeError`` deep inside a
    constructor, or hours later."""
    known, closed = _keyword_parameters(cls)
    unknown = sorted(set(kwargs) - set(known)) if closed else []
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} of {what}; known: {', '.join(sorted(known)) or 'none'}")
    for key, value in kwargs.items():
        param = known.get(key)
        expected = _expected_kind(param) if param is not None else None
        if expected is None or (value is None and "None" in str(param.annotation)):
            continue
        if not _is_kind(value, expected):
            raise ValueError(f"option {key!r} of {what} takes {expected}, got {value!r}")


def _keyword_parameters(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    """The keyword parameters of ``cls``'s constructor by name, following ``**options`` up the class hierarchy;
    ``closed`` is False when some constructor takes arbitrary keywords."""
    known: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        if klass is object:  # object() takes no options
            return known, True
        params = list(inspect.signature(klass.__init__).parameters.values())[1:]  # without self
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                known.setdefault(p.name, p)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return known, True
    return known, False


_ANNOTATED_KINDS = {"bool": "true or false", "int": "an integer", "float": "a number"}


def _expected_kind(param: inspect.Parameter) -> str | None:
    """What an option takes: 'true or false', 'an integer', 'a number', or None (unchecked); from its default, or
    for a default of None from the one other type its annotation names (``int | None``: an integer)."""
    default = param.default
    if default is None:
        named = {t.strip() for t in str(param.annotation).split("|")} - {"None"}
        return _ANNOTATED_KINDS.get(named.pop()) if len(named) == 1 else None
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, numbers.Integral):
        return "an integer"
    if isinstance(default, numbers.Real):
        return "a number"
    return None


def _is_kind(value: Any, kind: str) -> bool:
    flag = isinstance(value, (bool, np.bool_))  # numpy's bool is no number (the spaces took np.bool_ before)
    if kind == "true or false":
        return flag
    if flag:
        return False
    return isinstance(value, numbers.Integral if kind == "an integer" else numbers.Real)
