"""Robustness figures: a fuzz campaign against the decoders, altered predictor and cache files, concurrent writers of
one results file, and runs killed with SIGKILL.

    python benchmarks/robustness.py [--fuzz 20000] [--flips 200] [--writers 4] [--kills 20] [--out FILE]

Every figure is a count that should be 0 (or, for the runs, equal to the grid): tracebacks and non-ValueError
exceptions from decoders; altered files loaded with changed content; duplicate runs; runs lost.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

ATOMS = [None, 0, -1, 1, 2, 7, 1.5, float("nan"), 1 + 2j, "x", "", "input", "output", "conv3x3-bn-relu", "none",
         "gcn", "skip", "|", "~0", [], {}, set(), (), b"x", True, np.int64(3), np.array(3), np.array([[1]]),
         np.array([1 + 1j]), [[0, 1], [0, 0]], [0, 1, 2, 3], ("input", "output"), object(),
         np.zeros((2, 2), dtype=complex), {"adjacency": None, "ops": None}, {"adjacency": [[0, 1], [0, 0]]}]
TINY = ["--space", "nbgraph", "--dataset", "proteins", "--encoder", "gatedgcn", "--encoder-opt", "hidden=8",
        "--encoder-opt", "layers=1", "--ratio", "0.05", "--finetune-epochs", "3", "--quiet"]


def fuzz(count: int, rng: random.Random) -> Counter:
    """Random and perturbed native encodings for every space's decoder: the kinds of non-ValueError exceptions."""
    from fgp.spaces import get_space, list_spaces

    def junk(depth: int = 0):
        if depth > 2 or rng.random() < 0.4:
            return rng.choice(ATOMS)
        return rng.choice([list, tuple])(junk(depth + 1) for _ in range(rng.randint(0, 8)))

    bad: Counter = Counter()
    spaces = list_spaces()
    for i in range(count):
        space = get_space(spaces[i % len(spaces)])
        if i % 2:
            x = copy.deepcopy(space.sample(np.random.default_rng(i)))
            if isinstance(x, str):
                cut = rng.randint(0, len(x))
                x = x[:cut] + rng.choice(["|", "~", "+", "9", "none", "", "~-1"]) + x[cut + 1:]
            else:
                x = list(x)
                x[rng.randrange(len(x))] = junk(1)
        else:
            x = junk()
        try:
            space.decode(x)
        except ValueError:
            pass
        except Exception as exc:  # noqa: BLE001  what the figure counts
            bad[f"{space.name}: {type(exc).__name__}"] += 1
    return bad


def altered_files(flips: int, rng: random.Random, folder: Path) -> dict[str, int]:
    """Bit flips and truncations of a saved predictor and of a pre-training cache entry, and crafted predictor
    files (re-checksummed): how many load with content that differs from what was saved."""
    from fgp.io import content_digest
    from fgp.predictor import Predictor
    from fgp.spaces import get_space

    space = get_space("nb201")
    r = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.sample(r) for _ in range(40)))
    y = np.array([a.count("conv_3x3") + 0.1 * a.count("skip") for a in archs])
    os.environ["FGP_CACHE"] = str(folder / "cache")
    model = Predictor("gatedgcn", "fgp", space="nb201", unlabeled="train", encoder_kwargs={"hidden": 8, "layers": 1},
                      pretrain_kwargs={"epochs": 1, "l2": 0.0}, finetune_kwargs={"epochs": 2}).fit(archs, y)
    good = folder / "model.fgp"
    model.save(good)
    reference = model.predict(archs)
    data = good.read_bytes()
    counts = Counter()

    def accepted(path: Path) -> bool:
        try:
            return not np.array_equal(Predictor.load(path).predict(archs), reference)
        except ValueError:
            return False

    for i in range(flips):
        altered = bytearray(data)
        pos = rng.randrange(len(altered))
        altered[pos] ^= 1 << rng.randrange(8)
        path = folder / f"flip{i}.fgp"
        path.write_bytes(bytes(altered))
        counts["predictor bit flips"] += 1
        counts["predictor bit flips accepted"] += accepted(path)
    for i in range(20):
        path = folder / f"cut{i}.fgp"
        path.write_bytes(data[: rng.randrange(len(data))])
        counts["predictor truncations"] += 1
        counts["predictor truncations accepted"] += accepted(path)
    payload = torch.load(good, weights_only=True)
    texts = {k: payload[k] for k in ("params", "representation", "info", "vocab", "draws")}
    params = json.loads(texts["params"])
    weight = next(k for k in payload["state_dict"] if k.endswith("weight"))
    crafted = {
        "hidden=20000": ({**texts, "params": json.dumps({**params, "encoder_kwargs": {"hidden": 20000, "layers": 1}})},
                         payload["state_dict"]),
        "inf weight": (texts, {**payload["state_dict"], weight: payload["state_dict"][weight] * float("inf")}),
        "int64 weight": (texts, {**payload["state_dict"], weight: payload["state_dict"][weight].long()}),
        "ensemble=10": ({**texts, "params": json.dumps({**params, "ensemble": 10})}, payload["state_dict"]),
    }
    for name, (t, state) in crafted.items():
        path = folder / "crafted.fgp"
        torch.save({**payload, **t, "state_dict": state, "checksum": content_digest(t, state)}, path)
        counts["crafted predictor files"] += 1
        counts["crafted predictor files accepted"] += accepted(path)
    # cache entries: every flip must either recompute or give back exactly the saved weights
    from fgp.pretrain.base import cache_dir, load_cached

    (entry,) = cache_dir().glob("*.pt")
    key, original = entry.stem, entry.read_bytes()
    saved = load_cached(key)
    for i in range(flips):
        altered = bytearray(original)
        altered[rng.randrange(len(altered))] ^= 1 << rng.randrange(8)
        entry.write_bytes(bytes(altered))
        devnull = open(os.devnull, "w")
        stderr, sys.stderr = sys.stderr, devnull
        try:
            hit = load_cached(key)
        finally:
            sys.stderr = stderr
            devnull.close()
        counts["cache bit flips"] += 1
        changed = hit is not None and any(not torch.equal(hit.encoder_state[k], v)
                                          for k, v in saved.encoder_state.items())
        counts["cache bit flips accepted"] += changed
    entry.write_bytes(original)
    return dict(counts)


def concurrent_writers(writers: int, folder: Path) -> dict[str, int]:
    """``writers`` processes run the same 9-run grid into one results file at once."""
    out = folder / "shared.jsonl"
    env = {**os.environ, "FGP_CACHE": str(folder / "writers-cache")}
    procs = [subprocess.Popen([sys.executable, "-m", "fgp", "experiment", *TINY, "--pretrain", "none", "--out",
                               str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(writers)]
    for p in procs:
        p.wait()
    keys = [tuple(json.loads(line)[k] for k in ("encoder", "pretrain", "seed", "permutation", "config_id"))
            for line in out.read_text().splitlines()]
    return {"writers": writers, "runs written": len(keys), "duplicate runs": len(keys) - len(set(keys))}


def killed_runs(kills: int, rng: random.Random, folder: Path) -> dict[str, int]:
    """A 9-run grid killed with SIGKILL ``kills`` times at random moments and resumed each time: runs that were
    finished before a kill and are missing after it, and the runs of the finished grid."""
    from fgp.results import read_results

    out = folder / "killed.jsonl"
    env = {**os.environ, "FGP_CACHE": str(folder / "killed-cache")}
    command = [sys.executable, "-m", "fgp", "experiment", *TINY, "--pretrain", "none,fgp", "--pretrain-epochs", "1",
               "--out", str(out)]
    lost = 0
    for _ in range(kills):
        before = {json.dumps(r, sort_keys=True) for r in read_results(out)}
        p = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 8.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        after = {json.dumps(r, sort_keys=True) for r in read_results(out)}
        lost += len(before - after)
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    final = read_results(out)
    keys = {(r["pretrain"], r["seed"], r["permutation"]) for r in final}
    return {"kills": kills, "finished runs lost": lost, "runs in the finished grid": len(keys),
            "duplicate runs": len(final) - len(keys)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", type=int, default=20_000)
    parser.add_argument("--flips", type=int, default=200)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--out", help="write the figures as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = random.Random(0)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bad = fuzz(args.fuzz, rng)
        figures["fuzz"] = {"inputs": args.fuzz, "non-ValueError exceptions": sum(bad.values()), "kinds": dict(bad)}
        print(json.dumps(figures["fuzz"]), flush=True)
        figures["files"] = altered_files(args.flips, rng, folder)
        print(json.dumps(figures["files"]), flush=True)
        figures["writers"] = concurrent_writers(args.writers, folder)
        print(json.dumps(figures["writers"]), flush=True)
        figures["kills"] = killed_runs(args.kills, rng, folder)
        print(json.dumps(figures["kills"]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
