"""Pre-training speed: seconds per epoch of ResGatedGCN on every architecture of a space, per pretext task (issue
targets: FGP's 200 epochs on all of NB201 in at most 3 minutes on this machine; every task's default epochs in under
5 minutes).

One process, one torch thread, CPU. Each setting pre-trains ``--epochs`` epochs with the task's defaults (FGP: batch
256, L_rec + L_aux on the space's default proxy), no disk cache, and reports CPU and wall seconds per epoch and the
projection to the task's default epochs. CPU time is the time on a dedicated core, the steadier number when jobs
share cores.

    python benchmarks/pretrain_speed.py                    # nb201, FGP, ResGatedGCN directed and both directions
    python benchmarks/pretrain_speed.py --space-opt pruned=false   # on NB201's 8-node graphs
    python benchmarks/pretrain_speed.py --pretrain fgp,graphcl,arch2vec,gmae --directions both

The graphs are the ones experiments use by default (the space class's ``graph_options``: pruned on NB201).
"""

from __future__ import annotations

import argparse
import time

import torch

from fgp.cli import key_value_options
from fgp.datasets import load_benchmark
from fgp.encoders import create_encoder
from fgp.experiment import ExperimentConfig, proxy_values
from fgp.pretrain import create_pretext, list_pretexts
from fgp.recipes import default_proxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--space-opt", action="append", metavar="KEY=VALUE", help="graph representation option")
    parser.add_argument("--pretrain", default="fgp", help=f"comma-separated tasks: {', '.join(list_pretexts())}")
    parser.add_argument("--directions", choices=("directed", "both", "each"), default="each",
                        help="ResGatedGCN's message directions (NB201's recipe: both; default: each in turn)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = ExperimentConfig(space=args.space, space_options=key_value_options(args.space_opt, "--space-opt") or None)
    bench = load_benchmark(args.space, space_options=config.graph_options())
    batch = bench.batch()
    tasks = [t.strip() for t in args.pretrain.split(",") if t.strip()]
    proxy = None
    if any(create_pretext(t).ranks_proxy for t in tasks):
        name, network = default_proxy(args.space, "gatedgcn")
        proxy = proxy_values(bench, name, network=network)
    directions = {"directed": (False,), "both": (True,), "each": (False, True)}[args.directions]
    print("| ResGatedGCN 64 / 3 | task | CPU s/epoch | wall s/epoch | default epochs | CPU s for those |")
    print("|---|---|---|---|---|---|")
    for task in tasks:
        for undirected in directions:
            torch.manual_seed(0)
            encoder = create_encoder("gatedgcn", batch.num_ops, undirected=undirected)
            pretext = create_pretext(task, epochs=args.epochs, seed=0)
            epochs = create_pretext(task).epochs
            cpu, wall = time.process_time(), time.perf_counter()
            pretext.run(encoder, batch, proxy if pretext.ranks_proxy else None, space=args.space, cache=False)
            cpu = (time.process_time() - cpu) / args.epochs
            wall = (time.perf_counter() - wall) / args.epochs
            label = "both directions" if undirected else "directed"
            print(f"| {label} | {task} | {cpu:.2f} | {wall:.2f} | {epochs} | {epochs * cpu:.0f} |", flush=True)


if __name__ == "__main__":
    main()
