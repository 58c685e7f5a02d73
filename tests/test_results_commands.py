"""The commands behind benchmarks/RESULTS.md reproduce its tables.

Commands writing to ``benchmarks/results/defaults/`` ran with today's code: each resolves, with today's library
defaults, to configurations whose runs are in its file (a default changed without re-measuring fails here). The
other commands on the page ran at tag v0.1 and are quoted from the archived notebook, whose config ids name runs in
the results files.
"""

import json
import re
import shlex
from pathlib import Path

from fgp.cli import build_parser
from fgp.cli.experiment import _config
from fgp.results import config_id

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
ARCHIVE = ROOT / "benchmarks" / "archive" / "RESULTS-v0.1.md"
# inline (between backticks, possibly wrapped over lines) or indented; an optional one-variable shell loop before it
COMMAND = re.compile(r"(?:for (\w+) in ([^;`]+); do )?fgp experiment ([^`]*?--out benchmarks/results/\S+?\.jsonl)")
CURRENT = "--out benchmarks/results/defaults/"


def commands(path: Path) -> list[str]:
    text = re.sub(r"\s+", " ", path.read_text())
    found = []
    for match in COMMAND.finditer(text):
        var, values, command = match.groups()
        for value in values.split() if var else [None]:
            if value is not None:  # ${o%%=*} (the option name) and $o
                command_v = command.replace("${%s%%%%=*}" % var, value.split("=")[0]).replace("$" + var, value)
            else:
                command_v = command
            if "$" not in command_v:  # loops spread over several lines are not expanded here
                found.append(command_v)
    return found


def test_every_current_command_resolves_to_recorded_runs():
    current = [c for c in commands(RESULTS) if CURRENT in c]
    assert current
    recorded: dict[Path, set[str]] = {}
    missing = []
    for command in current:
        args = build_parser().parse_args(["experiment", *shlex.split(command)])
        config = _config(args)
        path = ROOT / args.out
        if path not in recorded:
            recorded[path] = {json.loads(line)["config_id"] for line in path.open()}
        for encoder in config.encoders:
            for pretrain in config.pretrains:
                cid = config_id(config.run_config(encoder, pretrain))
                if cid not in recorded[path]:
                    missing.append(f"{encoder}/{pretrain or 'none'} {cid}: fgp experiment {command}")
    assert not missing, "\n".join(missing)


def test_every_other_command_is_quoted_from_the_v0_1_notebook():
    archived = set(commands(ARCHIVE))
    older = [c for c in commands(RESULTS) if CURRENT not in c]
    assert older and not [c for c in older if c not in archived]
    assert "git checkout v0.1" in RESULTS.read_text()


def test_every_config_id_cited_in_the_notebook_is_recorded():
    """A config id quoted in the archived notebook (ten hex digits in backticks) names runs in some results file."""
    recorded = {json.loads(line)["config_id"] for path in (ROOT / "benchmarks" / "results").rglob("*.jsonl")
                for line in path.open()}
    cited = set(re.findall(r"`([0-9a-f]{10})`", ARCHIVE.read_text()))
    assert len(cited) > 300
    assert not sorted(cited - recorded)
