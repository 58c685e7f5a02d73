"""How much of a benchmark's accuracy ranking one flow-surrogate draw can express, and several draws stacked.

For each draw seed (and for stacks of consecutive seeds, ``SurrogateDraws.stack``), the surrogate of every
architecture is z-scored per dimension and a least-squares fit to the accuracy is scored by Kendall tau, linear and
with all pairwise products of the dimensions. The fit sees every label, so this is a diagnostic of the target's
capacity, not a protocol result, and nothing is chosen with it.

    python benchmarks/surrogate_draws.py [--spaces nb101,nb201] [--draws 6] [--stack 4]
"""

from __future__ import annotations

import argparse

import numpy as np

from fgp.datasets import load_benchmark
from fgp.experiment import DEFAULT_SPACE_OPTIONS
from fgp.metrics import kendall_tau
from fgp.surrogate import SurrogateDraws, flow_surrogate, surrogate_defaults


def fit_taus(surrogate: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Kendall tau of the least-squares fit from the z-scored surrogate, linear and with pairwise products."""
    z = (surrogate - surrogate.mean(0)) / (surrogate.std(0) + 1e-12)
    linear = np.hstack([np.ones((len(z), 1)), z])
    i, j = np.triu_indices(z.shape[1])
    quadratic = np.hstack([linear, z[:, i] * z[:, j]])
    return tuple(kendall_tau(x @ np.linalg.lstsq(x, y, rcond=None)[0], y) for x in (linear, quadratic))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="nb101,nb201")
    parser.add_argument("--draws", type=int, default=6, help="draw seeds 0 .. draws-1")
    parser.add_argument("--stack", type=int, default=4, help="draws per stack (seeds s .. s+stack-1)")
    args = parser.parse_args()
    print("| space | draws | k | linear fit tau | quadratic fit tau |\n|---|---|---|---|---|")
    for space in args.spaces.split(","):
        bench = load_benchmark(space, space_options=DEFAULT_SPACE_OPTIONS.get(space))
        batch, y = bench.batch(), bench.y
        k, std = surrogate_defaults(space)
        singles = [SurrogateDraws.sample(batch.num_ops, k, std, seed) for seed in range(args.draws + args.stack)]
        rows = [([seed], singles[seed]) for seed in range(args.draws)]
        rows += [(list(range(s, s + args.stack)), SurrogateDraws.stack(singles[s : s + args.stack]))
                 for s in (0, args.stack)]
        for seeds, draws in rows:
            s = flow_surrogate(batch, draws=draws)[0].double().numpy()
            lin, quad = fit_taus(s, y)
            name = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]} stacked"
            print(f"| {space} | {name} | {draws.k} | {lin:.3f} | {quad:.3f} |", flush=True)


if __name__ == "__main__":
    main()
