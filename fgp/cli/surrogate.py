"""``fgp surrogate``: flow surrogates of every architecture of a benchmark, saved as ``.npz`` (and a PCA plot)."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

# what the .npz holds: the surrogates, the random draws, and the settings that produced them
SAVED_KEYS = ("surrogate", "r", "P", "W", "alpha", "ops", "index",
              "space", "dataset", "seed", "k", "std", "draws", "rounds", "forward", "backward")


def register(sub) -> None:
    p = sub.add_parser(
        "surrogate",
        help="compute the flow surrogate of every architecture of a benchmark",
        description="Compute the FGP flow surrogate (fgp.surrogate) of every architecture of a benchmark and "
        "save it as an .npz with the random draws, the op vocabulary, the architecture ids and the settings "
        f"(keys {', '.join(SAVED_KEYS)}).",
    )
    p.add_argument("--space", required=True,
                   help="search space with benchmark data: nb101, nb201, nbgraph, tnb101_macro")
    p.add_argument("--dataset", help="dataset of the space (default: the space's main one; nb101: 'space' for all "
                   "423,624 cells)")
    p.add_argument("--label", help="label column that colours the plot (default: the dataset's first)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random draws r, P, W (default 0)")
    p.add_argument("--k", type=int, help="surrogate size (default: the space's constant)")
    p.add_argument("--std", type=float, help="std of P and W (default: the space's constant)")
    p.add_argument("--draws", type=int, default=1, help="independent draws side by side, seeds SEED .. SEED+DRAWS-1 "
                   "(default 1; FGP's surrogate_draws): a surrogate of DRAWS x k numbers")
    p.add_argument("--rounds", type=int, default=1, help="forward+backward rounds (default 1, the paper's)")
    p.add_argument("--no-forward", action="store_true", help="ablation: skip the forward pass")
    p.add_argument("--no-backward", action="store_true", help="ablation: skip the backward pass")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--plot", help="also draw a 2-D PCA of the surrogates, coloured by accuracy rank (.png; needs "
                   "the plot extra, pip install 'fgp[plot]')")
    p.add_argument("--force", action="store_true", help="overwrite existing output files, and run a request "
                   "estimated above 1 hour or 8 GB of memory")
    p.set_defaults(func=run)


def _log(msg: str) -> None:
    print(f"fgp surrogate: {msg}", file=sys.stderr, flush=True)


def run(args) -> int:
    import numpy as np

    from fgp.cli import check_cost, seed_option
    from fgp.datasets import load_benchmark
    from fgp.io import check_output, write_atomic
    from fgp.spaces import get_space
    from fgp.surrogate import SurrogateDraws, flow_surrogate, resolve_constants

    # everything a user can get wrong is checked before the (possibly long) load and computation
    get_space(args.space)  # unknown space -> ValueError naming the choices
    seed_option(args.seed)
    if args.draws >= 1 and args.seed + args.draws > 2**32:
        raise ValueError(f"--seed + --draws must stay below 2**32 (draw seeds SEED .. SEED+DRAWS-1), got {args.seed} "
                         f"and {args.draws}")
    if args.k is not None and args.k < 1:
        raise ValueError(f"--k: k must be a positive integer, got {args.k}")
    if args.std is not None and not (np.isfinite(args.std) and args.std > 0):
        raise ValueError(f"--std: std must be a positive number, got {args.std}")
    if args.draws < 1:
        raise ValueError(f"--draws must be a positive integer, got {args.draws}")
    if args.rounds < 1:
        raise ValueError(f"--rounds must be a positive integer, got {args.rounds}")
    if args.no_forward and args.no_backward:
        raise ValueError("--no-forward and --no-backward together leave nothing to compute")
    out = Path(args.out)
    plot = Path(args.plot) if args.plot else None
    if plot is not None and plot.resolve() == out.resolve():
        raise ValueError("--plot and --out must be different files")
    if plot is not None:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise ValueError("--plot needs matplotlib: pip install 'fgp[plot]'")
    for target in (out, plot):
        if target is not None:
            check_output(target, args.force)
    k, std = resolve_constants(args.k, args.std, args.space)

    t0 = time.perf_counter()
    bench = load_benchmark(args.space, args.dataset, args.label)
    batch = bench.batch()
    _log(f"{bench.space}/{bench.dataset}: {len(bench):,} architectures, loaded in {time.perf_counter() - t0:.1f} s")
    check_cost(*_surrogate_cost(batch.num_nodes, len(bench), k, args.draws, args.rounds), args.force,
               f"a surrogate of k={k} x {args.draws} draw(s), {args.rounds} round(s), for {len(bench):,} architectures")
    t0 = time.perf_counter()
    draws = SurrogateDraws.sample_stacked(batch.num_ops, k, std, args.seed, args.draws)
    surrogate, _ = flow_surrogate(
        batch, draws=draws, rounds=args.rounds, forward=not args.no_forward, backward=not args.no_backward
    )
    surrogate = surrogate.cpu().numpy().astype(np.float32)
    _log(f"k={k} std={std:g} seed={args.seed} draws={args.draws}: computed in {time.perf_counter() - t0:.2f} s")

    arrays = dict(
        surrogate=surrogate,
        r=draws.r,
        P=draws.P,
        W=draws.W,
        alpha=np.float64(draws.alpha),
        ops=np.array(bench.vocab),
        index=np.asarray(bench.index),
        space=np.array(bench.space),
        dataset=np.array(bench.dataset),
        seed=np.int64(args.seed),
        k=np.int64(k),
        std=np.float64(std),
        draws=np.int64(args.draws),
        rounds=np.int64(args.rounds),
        forward=np.bool_(not args.no_forward),
        backward=np.bool_(not args.no_backward),
    )
    picture = None
    if plot is not None:  # drawn before anything is written: a failing plot leaves no .npz behind
        buffer = io.BytesIO()
        _plot_pca(buffer, surrogate, bench)
        picture = buffer.getvalue()
    write_atomic(out, lambda fh: np.savez(fh, **arrays))
    _log(f"wrote {out}")
    if plot is not None:
        write_atomic(plot, lambda fh: fh.write(picture))
        _log(f"wrote {plot}")
    return 0


def _surrogate_cost(nodes: int, archs: int, k: int, draws: int, rounds: int) -> tuple[float, float]:
    """Estimated seconds and bytes of the batched surrogate: per node, round, pass and draw a (2k x k) product
    (about 1 GFLOP/s here, conservatively); float32 node states for a few buffers, the draws and the result."""
    kd = float(k) * draws
    seconds = 2.0 * rounds * nodes * draws * 2 * (2.0 * k * k) / 1e9
    nbytes = 4 * (6 * nodes * kd + archs * kd + draws * (2.0 * k * k + 16 * k))
    return seconds, nbytes


def _plot_pca(fh, surrogate, bench) -> None:
    import numpy as np

    """2-D PCA of the surrogates; colour = accuracy rank (percentile) when the benchmark is labelled."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x = surrogate.astype(np.float64)
    x = x - x.mean(axis=0)
    _, sing, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T if vt.shape[0] >= 2 else np.column_stack([x @ vt[:1].T, np.zeros(len(x))])
    explained = sing**2 / max(float((sing**2).sum()), 1e-300)
    fig = Figure(figsize=(6.4, 5.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if bench.y is not None:
        rank = np.argsort(np.argsort(bench.y, kind="stable"), kind="stable") / max(len(bench.y) - 1, 1)
        order = np.argsort(rank)  # best architectures drawn last, on top
        pts = ax.scatter(xy[order, 0], xy[order, 1], c=rank[order], cmap="viridis", s=3, linewidths=0,
                         rasterized=True)
        fig.colorbar(pts, ax=ax, label=f"rank of {bench.label} (0 worst, 1 best)")
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=2, linewidths=0, color="tab:blue", alpha=0.5, rasterized=True)
    ev = [f"{100 * e:.0f}%" for e in explained[:2]]
    ax.set_xlabel(f"PC1 ({ev[0]})")
    ax.set_ylabel(f"PC2 ({ev[1] if len(ev) > 1 else '0%'})")
    ax.set_title(f"flow surrogates, {bench.space}/{bench.dataset} ({len(x):,} architectures, k={x.shape[1]})")
    fig.tight_layout()
    fig.savefig(fh, format="png")
