"""Files of a user's own architectures: what ``fgp fit`` and ``fgp predict`` read.

Three forms, told apart by the file's extension:

- ``.csv``: a header row with an ``arch`` column (and ``label`` for training data);
- ``.jsonl``: one JSON object per line with an ``arch`` key (and ``label``);
- anything else (``.txt``): one architecture per line, no labels.

An architecture is the space's native form: a cell that parses as JSON is read as JSON (NB101's
``[adjacency, ops]``, NAS-Bench-Graph's ``[links, ops]``), any other text is taken as it is (NB201's arch
strings). Every bad row is reported with its file and line number: a malformed row, an architecture the space
cannot decode, a label that is not a finite number, an architecture given twice.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgp.graph import ArchGraph


@dataclass
class ArchRows:
    """The architectures of a file (native form), their labels (None without), and their line numbers."""

    archs: list[Any]
    labels: list[float] | None
    lines: list[int]


def read_archs(path: str | os.PathLike, space: str, labelled: bool = False) -> ArchRows:
    """The architectures (and with ``labelled`` their ``label``) of ``path``, each checked against ``space``;
    ``ValueError`` names the file, the line and the problem of the first bad row."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no architecture file at {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path, text, labelled)
    elif suffix == ".jsonl":
        rows = _jsonl_rows(path, text, labelled)
    elif labelled:
        raise ValueError(f"{path}: labelled architectures come as .csv (columns arch,label) or .jsonl "
                         '({"arch": ..., "label": ...} per line)')
    else:
        rows = [(n, _cell(line.strip()), None) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not rows:
        raise ValueError(f"{path} holds no architectures")
    _check_architectures(path, rows, space)
    return ArchRows([a for _, a, _ in rows], [y for _, _, y in rows] if labelled else None, [n for n, _, _ in rows])


def _cell(text: str) -> Any:
    """A cell's architecture: its JSON value where it is JSON, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _label(path: Path, lineno: int, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}:{lineno}: label {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{path}:{lineno}: label {value!r} is not a finite number (NaN and infinity are not labels)")
    return number


def _csv_rows(path: Path, text: str, labelled: bool) -> list[tuple[int, Any, float | None]]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    need = ["arch", "label"] if labelled else ["arch"]
    if header is None or any(c not in [h.strip() for h in header] for c in need):
        raise ValueError(f"{path}:1: the header must name the columns {','.join(need)}, got {header}")
    names = [h.strip() for h in header]
    rows = []
    for lineno, fields in enumerate(reader, 2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            raise ValueError(f"{path}:{lineno}: {len(fields)} fields, the header has {len(names)} "
                             "(quote a cell that holds commas)")
        row = dict(zip(names, fields))
        label = _label(path, lineno, row["label"].strip()) if labelled else None
        rows.append((lineno, _cell(row["arch"].strip()), label))
    return rows


def _jsonl_rows(path: Path, text: str, labelled: bool) -> list[tuple[int, Any, float | None]]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: not a JSON line ({exc})") from None
        need = ("arch", "label") if labelled else ("arch",)
        if not isinstance(row, dict) or any(k not in row for k in need):
            raise ValueError(f"{path}:{lineno}: expected an object with {', '.join(need)}")
        label = _label(path, lineno, row["label"]) if labelled else None
        rows.append((lineno, row["arch"], label))
    return rows


def _check_architectures(path: Path, rows: list, space: str) -> None:
    """Every row decodes in ``space``, and no architecture comes twice (the same ops and wiring)."""
    from fgp.proxies import graph_key
    from fgp.spaces import get_space

    decoder = get_space(space)
    first: dict[str, int] = {}
    for lineno, arch, _ in rows:
        try:
            graph = decoder.decode(arch)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ValueError(f"{path}:{lineno}: not a {space} architecture: {exc}") from None
        if not isinstance(graph, ArchGraph):
            raise ValueError(f"{path}:{lineno}: not a {space} architecture")
        key = graph_key(graph)
        if key in first:
            raise ValueError(f"{path}:{lineno}: duplicate architecture (first at line {first[key]})")
        first[key] = lineno
