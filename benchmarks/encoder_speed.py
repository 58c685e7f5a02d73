"""Encoder speed: inference throughput and training time per epoch, FlowerFormer versus the plain GNN encoders.

The FGP paper's premise is that flow-based encoders (FlowerFormer) are much slower than plain GNNs (ResGatedGCN,
GIN). This measures it on the real NB201 (all 15,625 cells) and NB101 (the protocol's 14,580 labelled cells)
graphs, with every registered encoder as ``fgp experiment`` runs it on that space: the space's default graphs
(the space class's ``graph_options``: NB201's pruned graphs) and each encoder's recipe (``fgp.recipes``, e.g.
ResGatedGCN 256 wide on NB101). ``--registry-defaults`` measures the
plain registry defaults on the space's unpruned graphs instead:

- inference: architectures per second, ``eval()`` + ``torch.inference_mode()``, batches of ``--infer-batch``
  (1024), one full pass over the table per repeat (the median repeat is reported);
- training: seconds per epoch, one full pass in shuffled batches of ``--train-batch`` (128): forward, a linear
  score head, the pairwise hinge loss of the protocol (margin 0.5), backward, gradient clipping at norm 1, AdamW.

Every encoder runs with ``torch.set_num_threads(1)`` (the machine has two shared cores), in one process, on CPU.
Both wall-clock and process CPU time are recorded: with one thread, CPU time is the time on a dedicated core, and is
the steadier number when other jobs share the cores. Batches are built before timing (data loading is not timed).

    python benchmarks/encoder_speed.py                     # all encoders, nb201 + nb101, writes results/
    python benchmarks/encoder_speed.py --spaces nb201 --encoders flowerformer gin --train-steps 20
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fgp.batch import GraphBatch
from fgp.datasets import load_benchmark
from fgp.encoders import create_encoder, list_encoders
from fgp.losses import pairwise_hinge_loss
from fgp.recipes import recipe
from fgp.spaces import space_class

HERE = Path(__file__).resolve().parent
NAMES = {"flowerformer": "FlowerFormer", "gatedgcn": "ResGatedGCN", "gin": "GIN"}


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def _settings(cls: type, options: dict) -> dict:
    """The constructor options an encoder was built with (its defaults under ``options``; not ``num_ops``)."""
    sig = inspect.signature(cls.__init__)
    defaults = {k: v.default for k, v in sig.parameters.items() if v.default is not inspect.Parameter.empty}
    return {**defaults, **options}


def _chunks(batch: GraphBatch, order: np.ndarray, size: int) -> list[GraphBatch]:
    return [batch.subset(order[i : i + size]) for i in range(0, len(order), size)]


def bench_inference(model: torch.nn.Module, chunks: list[GraphBatch], repeats: int) -> dict:
    model.eval()
    n = sum(len(c) for c in chunks)
    with torch.inference_mode():
        model(chunks[0])  # warm-up

        def one_pass():
            for c in chunks:
                model(c)

        times = [_timed(one_pass) for _ in range(repeats)]
    wall = statistics.median(t[0] for t in times)
    cpu = statistics.median(t[1] for t in times)
    return {
        "archs": n,
        "wall_s": wall,
        "cpu_s": cpu,
        "archs_per_s_wall": n / wall,
        "archs_per_s_cpu": n / cpu,
        "repeats_wall_s": [t[0] for t in times],
    }


def bench_training(model: torch.nn.Module, chunks: list[GraphBatch], ys: list[torch.Tensor], steps: int | None) -> dict:
    model.train()
    head = torch.nn.Linear(model.out_dim, 1)
    params = [*model.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-6)

    def step(c: GraphBatch, y: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        score = head(model(c)[1]).squeeze(1)
        pairwise_hinge_loss(score, y, margin=0.5).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for c, y in list(zip(chunks, ys))[:2]:  # warm-up
        step(c, y)
    todo = list(zip(chunks, ys))[: steps or len(chunks)]
    archs = sum(len(c) for c, _ in todo)
    wall, cpu = _timed(lambda: [step(c, y) for c, y in todo])
    total = sum(len(c) for c in chunks)
    scale = total / archs  # extrapolate to a full epoch when only some steps were timed
    return {
        "steps_timed": len(todo),
        "steps_per_epoch": len(chunks),
        "epoch_s_wall": wall * scale,
        "epoch_s_cpu": cpu * scale,
        "step_ms_cpu": 1e3 * cpu / len(todo),
        "extrapolated": len(todo) < len(chunks),
    }


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    encoders = args.encoders or list_encoders()
    results: dict = {}
    for space in args.spaces:
        graph_options = {} if args.registry_defaults else dict(space_class(space).graph_options)
        bench = load_benchmark(space, space_options=graph_options)
        batch = bench.batch()
        n = len(bench)
        rng = np.random.default_rng(0)
        infer_chunks = _chunks(batch, np.arange(n), args.infer_batch)
        order = rng.permutation(n)
        train_chunks = _chunks(batch, order, args.train_batch)
        y = torch.as_tensor(bench.y, dtype=torch.float32)
        train_ys = [y[order[i : i + args.train_batch]] for i in range(0, n, args.train_batch)]
        results[space] = {
            "archs": n,
            "nodes": batch.num_nodes,
            "edges": int(batch.edge_index.shape[1]),
            "space_options": bench.space_options,
            "encoders": {},
        }
        for name in encoders:
            options = {} if args.registry_defaults else recipe(space, name).encoder
            torch.manual_seed(0)
            model = create_encoder(name, batch.num_ops, **options)
            row = {
                "params": sum(p.numel() for p in model.parameters()),
                "out_dim": int(model.out_dim),
                "settings": _settings(type(model), options),
            }
            row["inference"] = bench_inference(model, infer_chunks, args.repeats)
            torch.manual_seed(0)
            model = create_encoder(name, batch.num_ops, **options)
            row["training"] = bench_training(model, train_chunks, train_ys, args.train_steps)
            results[space]["encoders"][name] = row
            print(
                f"{space:6s} {name:13s} infer {row['inference']['archs_per_s_cpu']:9.0f} arch/s (cpu) "
                f"{row['inference']['archs_per_s_wall']:9.0f} arch/s (wall) | train epoch "
                f"{row['training']['epoch_s_cpu']:7.2f} s (cpu) {row['training']['epoch_s_wall']:7.2f} s (wall)",
                flush=True,
            )
    return results


def _markdown(meta: dict, results: dict) -> str:
    lines = [
        "# Encoder speed: FlowerFormer versus plain GNN encoders",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"CPU only, `torch.set_num_threads(1)` for every encoder (the machine has {meta['cpu_count']} shared cores), "
        f"torch {meta['torch']}, {meta['date']}. Load average before/after: {meta['loadavg_before']} / "
        f"{meta['loadavg_after']}. {meta['settings']} *CPU* columns use process CPU time (one "
        "thread, so: time on a dedicated core, steadier when other jobs share the cores); *wall* columns use the "
        "clock. Inference: `eval()` + `inference_mode`, batches of "
        f"{meta['infer_batch']}, median of {meta['repeats']} full passes. Training: one epoch over all architectures "
        f"in shuffled batches of {meta['train_batch']} (forward, linear head, pairwise hinge loss, backward, "
        "clipping, AdamW); batches are built before timing. *Slower* is FlowerFormer's time over the encoder's "
        "(CPU time).",
        "",
        "| space | encoder | params | inference arch/s (CPU) | inference arch/s (wall) | FlowerFormer slower "
        "(inference) | train s/epoch (CPU) | train s/epoch (wall) | FlowerFormer slower (training) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for space, res in results.items():
        encs = res["encoders"]
        ff = encs.get("flowerformer")
        for name, row in encs.items():
            inf, tr = row["inference"], row["training"]
            slow_i = slow_t = "-"
            if ff is not None and name != "flowerformer":
                slow_i = f"{inf['archs_per_s_cpu'] / ff['inference']['archs_per_s_cpu']:.1f}x"
                slow_t = f"{ff['training']['epoch_s_cpu'] / tr['epoch_s_cpu']:.1f}x"
            ext = "\\*" if tr["extrapolated"] else ""
            lines.append(
                f"| {space} ({res['archs']:,}) | {NAMES.get(name, name)} | {row['params']:,} | "
                f"{inf['archs_per_s_cpu']:,.0f} | {inf['archs_per_s_wall']:,.0f} | {slow_i} | "
                f"{tr['epoch_s_cpu']:.2f}{ext} | {tr['epoch_s_wall']:.2f}{ext} | {slow_t} |"
            )
    if any(r["training"]["extrapolated"] for res in results.values() for r in res["encoders"].values()):
        lines += ["", "\\* extrapolated from the first `--train-steps` steps of the epoch."]
    lines += ["", "Encoder settings (registry names):", ""]
    for space, res in results.items():
        graphs = ", ".join(f"{k}={v}" for k, v in res["space_options"].items()) or "default graphs"
        lines.append(f"- {space} ({graphs}, {res['nodes']:,} nodes, {res['edges']:,} edges):")
        for name, row in res["encoders"].items():
            args = ", ".join(f"{k}={v}" for k, v in row["settings"].items())
            lines.append(f"  - `{name}` ({NAMES.get(name, name)}): {args}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoders", nargs="*", default=None, help="registry names (default: all registered)")
    p.add_argument("--spaces", nargs="*", default=["nb201", "nb101"], choices=["nb201", "nb101"])
    p.add_argument("--infer-batch", type=int, default=1024)
    p.add_argument("--train-batch", type=int, default=128)
    p.add_argument("--train-steps", type=int, default=0, help="time only this many steps and extrapolate (0: epoch)")
    p.add_argument("--repeats", type=int, default=3, help="full inference passes; the median is reported")
    p.add_argument(
        "--registry-defaults",
        action="store_true",
        help="every encoder at its registry defaults on unpruned graphs, not as the experiments run it",
    )
    p.add_argument("--out", default=str(HERE / "results" / "encoder_speed"), help="output path without suffix")
    args = p.parse_args(argv)
    for enc in args.encoders or []:
        if enc not in list_encoders():
            p.error(f"unknown encoder {enc!r}; choose from {list_encoders()}")
    if args.infer_batch < 1 or args.train_batch < 2 or args.repeats < 1 or args.train_steps < 0:
        p.error("batch sizes, repeats must be positive (train batch >= 2), --train-steps >= 0")

    meta = {
        "command": " ".join(["python benchmarks/encoder_speed.py", *(argv if argv is not None else sys.argv[1:])]),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "threads": 1,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "infer_batch": args.infer_batch,
        "train_batch": args.train_batch,
        "repeats": args.repeats,
        "settings": (
            "Each encoder at its registry defaults, on each space's unpruned graphs."
            if args.registry_defaults
            else "Each encoder as `fgp experiment` runs it: the space's default graphs and the encoder's recipe "
            "(`fgp.recipes`)."
        ),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    results = run(args)
    meta["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    out.with_suffix(".md").write_text(_markdown(meta, results))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
