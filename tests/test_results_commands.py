"""The commands in benchmarks/RESULTS.md reproduce its tables: each `fgp experiment ... --out FILE` resolves, with
today's library defaults, to configurations whose runs are in FILE. A default changed without pinning the earlier
setting in the commands that measured it fails here."""

import json
import re
import shlex
from pathlib import Path

from fgp.cli import build_parser
from fgp.cli.experiment import _config
from fgp.experiment import config_id

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
# inline (between backticks, possibly wrapped over lines) or indented; an optional one-variable shell loop before it
COMMAND = re.compile(r"(?:for (\w+) in ([^;`]+); do )?fgp experiment ([^`]*?--out benchmarks/results/\S+?\.jsonl)")


def results_commands() -> list[str]:
    text = re.sub(r"\s+", " ", RESULTS.read_text())
    commands = []
    for match in COMMAND.finditer(text):
        var, values, command = match.groups()
        for value in values.split() if var else [None]:
            if value is not None:  # ${o%%=*} (the option name) and $o
                command_v = command.replace("${%s%%%%=*}" % var, value.split("=")[0]).replace("$" + var, value)
            else:
                command_v = command
            if "$" not in command_v:  # loops spread over several lines are not expanded here
                commands.append(command_v)
    return commands


def test_every_results_command_resolves_to_recorded_runs():
    commands = results_commands()
    assert len(commands) > 150
    recorded: dict[Path, set[str]] = {}
    missing = []
    for command in commands:
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


def test_every_config_id_cited_is_recorded():
    """A config id quoted in RESULTS.md (ten hex digits in backticks) names runs in some results file."""
    recorded = {json.loads(line)["config_id"] for path in (ROOT / "benchmarks" / "results").glob("*.jsonl")
                for line in path.open()}
    cited = set(re.findall(r"`([0-9a-f]{10})`", RESULTS.read_text()))
    assert len(cited) > 300
    assert not sorted(cited - recorded)
