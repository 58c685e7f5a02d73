"""Where the real benchmark tables live: ``FGP_DATA``, else ``../shared/data`` beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "FGP_DATA"


class DataNotFoundError(FileNotFoundError):
    """A benchmark file is missing; the message names the file, ``FGP_DATA`` and the fix."""


def data_root() -> Path | None:
    """The data directory: ``$FGP_DATA`` if set, else ``../shared/data`` relative to the repository root."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return default if default.is_dir() else None


def data_file(relative: str) -> Path:
    """The path of one benchmark file under the data root, or a :class:`DataNotFoundError` that says how to fix it."""
    root = data_root()
    if root is None:
        raise DataNotFoundError(
            f"benchmark file {relative!r} not found: {ENV_VAR} is not set and no ../shared/data exists beside the "
            f"repository; set {ENV_VAR} to the folder that holds nasbench201/, nasbench101/, ..."
        )
    path = root / relative
    if not path.is_file():
        raise DataNotFoundError(
            f"benchmark file not found: {path} ({ENV_VAR}={root}); point {ENV_VAR} at the folder that holds "
            f"{relative.split('/')[0]}/"
        )
    return path
