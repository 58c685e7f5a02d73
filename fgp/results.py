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
    data = path.read_bytes()
    lines = data[: len(data) - len(_unfinished_tail(data))].split(b"\n")
    if not lines[-1]:
        lines.pop()  # what follows the last newline
    return [check(path, lineno, line) for lineno, line in enumerate(lines, 1)]


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
    data = path.read_bytes() if path.exists() else b""
    tail = _unfinished_tail(data)
    if tail:
        with path.open("r+b") as fh:
            fh.truncate(len(data) - len(tail))
        print(f"fgp: removed an unfinished last line from {path}", file=sys.stderr)
    elif data and not data.endswith(b"\n"):
        with path.open("ab") as fh:
            fh.write(b"\n")
    return records


def append_result(path: Path, record: dict) -> None:
    """Append one line in a single write, flushed to disk."""
    line = json.dumps(record, sort_keys=True) + "\n"
    with path.open("a") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def run_key(record: dict) -> tuple:
    return tuple(record.get(k) for k in RUN_KEYS)
