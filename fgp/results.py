"""Results files: one JSON line per finished run of the protocol, appended in one write, resumed after a crash.

Each line carries the run's keys, its metrics, the full resolved configuration (hashed into ``config_id``) and the
package version, so a file is its own record.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fgp.io import check_output
from fgp.metrics import METRIC_TITLES

RUN_KEYS = ("space", "dataset", "label", "encoder", "pretrain", "ratio", "seed", "permutation", "config_id")


def config_id(run_config: dict[str, Any]) -> str:
    """Ten hex digits naming a resolved configuration (every option, defaults included)."""
    return hashlib.sha1(json.dumps(run_config, sort_keys=True).encode()).hexdigest()[:10]


def read_results(path: str | os.PathLike) -> list[dict]:
    """The result records of a JSON Lines results file (a missing file has none). Every line must be a result
    record, else ValueError names the file and line, so a file that is not a results file is never reported or
    appended to; an unfinished last line (a write cut short, :func:`_unfinished_tail`) is not a result."""
    return read_records(path, _result_record)


def read_records(path: str | os.PathLike, check: Callable[[Path, int, bytes], dict]) -> list[dict]:
    """Every complete line of a JSON Lines file as ``check(path, line number, line)`` returns it (a missing file has
    none); ``check`` raises ``ValueError`` naming the line that is not a record of the file's kind."""
    path = Path(path)
    if not path.exists():
        return []
    data = _content(path.read_bytes())
    lines = data[: len(data) - len(_unfinished_tail(data))].split(b"\n")
    if not lines[-1]:
        lines.pop()  # what follows the last newline
    return [check(path, lineno, line) for lineno, line in enumerate(lines, 1)]


def _content(data: bytes) -> bytes:
    """``data`` up to its last line that holds anything: without a tail of blank lines or NUL bytes (what a power
    loss can leave after the last write)."""
    return data.rstrip(b"\x00 \t\r\n")


def _unfinished_tail(data: bytes) -> bytes:
    """The unfinished last line of a results file's bytes, or b"": a write cut short leaves the start of a record,
    an opening brace and no complete JSON, without the newline. A last line that lacks only its newline is a
    complete record, and anything else is not a result line: both are kept for :func:`_result_record` to judge."""
    tail = data[data.rfind(b"\n") + 1:]
    if not tail.startswith(b"{"):
        return b""
    try:
        json.loads(tail)
    except ValueError:  # JSONDecodeError, or UnicodeDecodeError where a character was cut
        return tail
    return b""


def _result_record(path: Path, lineno: int, line: bytes) -> dict:
    """One line of a results file as a record, checked to hold what reports read: the run's keys and every
    metric (``best_val_tau`` may be null: no validation tau with ``select="last"``)."""
    where = f"{path}:{lineno}"
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"{where} is not a JSON result line ({exc}); is this an fgp results file?") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where} is not a result record (a JSON {type(record).__name__}); is this an fgp results "
                         "file?")
    missing = [k for k in (*RUN_KEYS, *METRIC_TITLES) if k not in record]
    if missing:
        raise ValueError(f"{where} is not a result record: it lacks {', '.join(missing)}; is this an fgp results "
                         "file?")
    for k in METRIC_TITLES:
        value = record[k]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number or (value is None and k == "best_val_tau")):
            raise ValueError(f"{where}: {k} is {value!r}, not a number")
        low = 0.0 if k.startswith("precision") else -1.0
        if number and not low <= value <= 1.0:  # NaN fails too
            raise ValueError(f"{where}: {k} is {value!r}, outside [{low:g}, 1]")
    if not (isinstance(record["config_id"], str) and record["config_id"]):
        raise ValueError(f"{where}: config_id is {record['config_id']!r}, not a configuration id")
    return record


def resume_results(path: Path) -> list[dict]:
    """The finished runs of the results file ``path``, checked before any work (:func:`resume_records`)."""
    return resume_records(path, _result_record)


def resume_records(path: Path, check: Callable[[Path, int, bytes], dict]) -> list[dict]:
    """The records of the JSON Lines file ``path``, checked before any work: its folder exists and every line is a
    record (``check``). Only then is it made ready for appending: an unfinished last line is removed, a last record
    that lacks only its newline gets one."""
    check_output(path, force=True)  # appended to: an existing file is resumed, not refused
    records = read_records(path, check)
    raw = path.read_bytes() if path.exists() else b""
    data = _content(raw)
    tail = _unfinished_tail(data)
    kept = data[: len(data) - len(tail)].rstrip(b"\n")
    kept += b"\n" if kept else b""
    if tail:
        print(f"fgp: removed an unfinished last line from {path}", file=sys.stderr)
    elif len(raw) > len(kept) and raw != data:  # beyond the newline the last record lacked: blank lines, NULs
        print(f"fgp: removed a tail of blank lines or NUL bytes from {path}", file=sys.stderr)
    if kept != raw:
        with path.open("r+b") as fh:
            fh.seek(0)
            fh.write(kept)
            fh.truncate(len(kept))
    return records


def append_result(path: Path, record: dict, key: Callable[[dict], tuple] | None = None) -> bool:
    """Append one line in a single write, flushed to disk, holding an exclusive lock on the file (``flock``: local
    file systems, and NFS where the kernel maps it to byte-range locks). With ``key``, a record whose key a
    concurrent writer has already appended is not written again; returns whether the line was written."""
    import fcntl

    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    with path.open("a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            if key is not None:
                fh.seek(0)
                mine = key(record)
                for other in fh.read().split(b"\n"):
                    try:
                        if other.strip(b"\x00 ") and key(json.loads(other)) == mine:
                            return False
                    except (ValueError, TypeError, AttributeError):
                        continue  # an unfinished line: not a record
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
            return True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def unique_runs(records: list[dict]) -> list[dict]:
    """``records`` with one record per run (the first), so a run in two files or twice in one counts once."""
    seen: set[tuple] = set()
    out = []
    for r in records:
        if run_key(r) not in seen:
            seen.add(run_key(r))
            out.append(r)
    return out


def run_key(record: dict) -> tuple:
    return tuple(record.get(k) for k in RUN_KEYS)
