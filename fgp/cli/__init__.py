"""The ``fgp`` command. Each sub-command lives in its own module with ``register(subparsers)``.

Errors a user can cause (bad arguments, missing data, corrupt files) are raised as ``ValueError`` or ``OSError``
by the library; here they become one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from fgp import __version__

COMMAND_MODULES = ("data", "surrogate", "experiment", "predictor", "search", "proxies")


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line on stderr (exit 2), like every other user error.

    A help text may name a registry as ``{pretexts}``: the registered names are filled in when help is shown, so
    the lists stay true without importing the registries (and torch) when the parser is built."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        text = super().format_help()
        if "{pretexts}" in text:
            from fgp.pretrain import list_pretexts

            text = text.replace("{pretexts}", ", ".join(list_pretexts()))
        return text


def key_value_options(pairs: list[str] | None, flag: str) -> dict:
    """``KEY=VALUE`` pairs of a repeatable option; a VALUE that parses as JSON (numbers, true/false, null) is taken
    as such."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"{flag} takes KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def seed_option(value: int, flag: str = "--seed") -> int:
    """A seed numpy and torch both take: 0 <= seed < 2**32, or an error naming ``flag``."""
    if not 0 <= value < 2**32:
        raise ValueError(f"{flag} must be an integer in [0, 2**32), got {value}")
    return value


#: Requests estimated above these are refused unless --force (and above the machine's memory, always).
LIMIT_SECONDS = 3600.0
LIMIT_BYTES = 8 * 2**30


def check_cost(seconds: float, nbytes: float, force: bool, what: str) -> None:
    """Refuse a request estimated to take more than :data:`LIMIT_SECONDS` or :data:`LIMIT_BYTES` unless ``force``,
    and one that needs more memory than the machine has in any case, before it allocates anything."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if nbytes > memory:
        raise ValueError(f"{what} needs about {_size(nbytes)} of memory; this machine has {_size(memory)}")
    if not force and (seconds > LIMIT_SECONDS or nbytes > LIMIT_BYTES):
        raise ValueError(f"{what} would take about {_duration(seconds)} and {_size(nbytes)} of memory, above the "
                         f"limits of {_duration(LIMIT_SECONDS)} and {_size(LIMIT_BYTES)}; pass --force to run it")


def _size(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GB" if nbytes >= 2**30 else f"{nbytes / 2**20:.3g} MB"


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.3g} hours" if seconds >= 3600 else f"{seconds / 60:.3g} minutes"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fgp", description="Flow-surrogate generative pre-training for neural architecture encoders."
    )
    parser.add_argument("--version", action="version", version=f"fgp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"fgp.cli.{name}").register(sub)
    return parser


def _set_threads() -> None:
    """Intra-op threads for torch: ``FGP_NUM_THREADS``, default 1.

    fgp's models and graph batches are small; on CPU one thread was measured faster than two (extra threads spin
    and contend with any other process), see benchmarks/RESULTS.md. Raise it for large batched work.
    """
    value = os.environ.get("FGP_NUM_THREADS", "1")
    try:
        threads = int(value)
        if threads < 1:
            raise ValueError
    except ValueError:
        raise ValueError(f"FGP_NUM_THREADS must be a positive integer, got {value!r}") from None
    import torch

    torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _set_threads()
        return int(args.func(args) or 0)
    except (ValueError, OSError) as exc:
        print(f"fgp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fgp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
