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
    try:  # a file can be created beside it (what write_atomic does): permissions, read-only or special file systems
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".check")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PermissionError(f"{path} cannot be written: {exc.strerror or exc}") from None
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


def content_digest(texts: dict[str, str], tensors: dict[str, object]) -> str:
    """SHA-256 of named strings and tensors (name, dtype, shape and bytes of each): the checksum a file fgp writes
    carries, so that a file changed after it was written (a flipped bit, a truncation, an edit) is refused."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name in sorted(texts):
        h.update(f"{name}\0{texts[name]}\0".encode())
    for name in sorted(tensors):
        t = tensors[name]
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} is a {type(t).__name__}, not a tensor")
        t = t.detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def check_weights(tensors: dict[str, object]) -> None:
    """Weights as fgp writes them: float32 or float64 and finite (integer tensors only as batch-norm counters);
    ``ValueError`` names the first tensor that is not."""
    import torch

    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} is a {type(t).__name__}, not a tensor")
        if t.dtype in (torch.float32, torch.float64):
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"weight {name} holds non-finite values")
        elif not (t.dtype == torch.int64 and name.endswith("num_batches_tracked")):
            raise ValueError(f"weight {name} has dtype {t.dtype}; fgp writes float32 or float64 weights")
