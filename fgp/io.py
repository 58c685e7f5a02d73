"""Files fgp writes: output paths checked before the work that fills them, atomic writes, and the cache folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

CACHE_ENV = "FGP_CACHE"
# the process's umask, read once at import (reading it means setting it), so atomic writes get the permissions a
# plain open() would give instead of mkstemp's owner-only 0600
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def check_output(path: str | os.PathLike, force: bool) -> Path:
    """``path`` as a Path once it is known to be writable as a file, so a bad target fails before any long work:
    a directory is always refused (``force`` replaces files only), an existing file unless ``force``, and its
    folder must exist."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not an output file")
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder of {path} does not exist")
    return path


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write`` on a binary file that replaces ``path`` only once it is complete, so an error or a crash
    never leaves half a file; the temporary file has a unique name in the same folder, so concurrent writers of
    one path never share it (the last to finish wins)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_UMASK)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cache_root() -> Path:
    """Where fgp caches what it computes: ``$FGP_CACHE``, default ``~/.cache/fgp``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "fgp").expanduser()
