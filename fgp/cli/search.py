"""``fgp search``: architecture search on a benchmark with a query budget, trials appended to a search file."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "search", help="search a benchmark with a query budget (random, evolution, local, npenas, ...)",
        description="Run TRIALS searches of BUDGET queries per algorithm on a benchmark table (NB201: queries "
        "c10_valid_acc_200 and reports the c10_test_acc_200 of the best-by-validation cell; nbgraph: valid_perf "
        "and perf; nb101: val_acc_108 over its 30,001 labelled cells, with no test label to report). Trial i of "
        "every algorithm uses seed i. One JSON line per finished trial; a rerun skips the trials already in OUT.")
    p.add_argument("--space", required=True, help="nb201, nbgraph or nb101 (your own space: search it from Python "
                   "with fgp.search.search(your_objective, space=...))")
    p.add_argument("--dataset", help="the benchmark dataset (default: cifar10; cora on nbgraph; nb101: cifar10-30k)")
    p.add_argument("--algorithm", default="local-predictor",
                   help="comma-separated: random, evolution, local, npenas, local-predictor (default: "
                   "local-predictor, local search ordered by the predictor)")
    p.add_argument("--predictor", default="fgp",
                   help="for npenas and local-predictor: fgp (pre-trained, default) or supervised")
    p.add_argument("--budget", type=int, default=100, help="queries per trial (default 100)")
    p.add_argument("--trials", type=int, default=20, help="trials per algorithm, seeds 0.. (default 20)")
    p.add_argument("--finetune-epochs", type=int, help="fine-tuning epochs of every predictor refit (default: the "
                   "recipe's)")
    p.add_argument("--out", required=True, help="search file (JSON Lines); finished trials in it are skipped")
    p.add_argument("--plot", help="also draw the mean best-so-far against queries (.png; pip install 'fgp[plot]')")
    p.add_argument("--workers", type=int, default=1, help="trials at once, each in its own process (default 1)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="where the workers run: processes here (local) or a Ray cluster (ray; pip install 'fgp[ray]')")
    p.add_argument("--address", help="with --backend ray: the cluster's address (default: a local Ray instance)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args) -> int:
    from fgp.io import check_output, write_atomic
    from fgp.search import list_searchers, run_searches, search_table
    from fgp.search.base import uses_predictor

    algorithms = [a.strip() for a in args.algorithm.split(",") if a.strip()]
    unknown = [a for a in algorithms if a not in list_searchers()]
    if unknown or not algorithms:
        raise ValueError(f"unknown search algorithm(s) {unknown}; choose from {list_searchers()}")
    for name, value in (("--budget", args.budget), ("--trials", args.trials)):
        if value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if args.finetune_epochs is not None and args.finetune_epochs < 1:
        raise ValueError(f"--finetune-epochs must be a positive integer, got {args.finetune_epochs}")
    if args.predictor not in ("fgp", "supervised"):
        raise ValueError(f"--predictor must be fgp or supervised, got {args.predictor!r}")
    plot = None
    if args.plot:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise ValueError("--plot needs matplotlib: pip install 'fgp[plot]'")
        plot = check_output(args.plot, force=True)
    from fgp.search.predictive import SEARCH_PRETRAIN

    guided = {"predictor": args.predictor, "finetune_epochs": args.finetune_epochs}
    if args.predictor == "fgp":  # recorded, so a search file says which pre-training guided it
        guided["pretrain_kwargs"] = dict(SEARCH_PRETRAIN)
    options = {a: guided for a in algorithms if uses_predictor(a)}
    say = None if args.quiet else (lambda text: print(f"fgp search: {text}", file=sys.stderr, flush=True))
    records = run_searches(args.space, algorithms, args.budget, args.trials, out=args.out, dataset=args.dataset,
                           options=options, progress=say, workers=args.workers, backend=args.backend,
                           address=args.address)
    from fgp.search import read_search

    print(search_table(records))
    if plot is not None:  # every algorithm of the file on this benchmark and budget, so runs can be added one by one
        shown = [r for r in read_search(args.out) if (r["space"], r["dataset"], r["budget"]) ==
                 (records[0]["space"], records[0]["dataset"], records[0]["budget"])]
        write_atomic(plot, lambda fh: plot_curves(fh, shown))
    return 0


def plot_curves(fh, records: list[dict]) -> None:
    """Mean best-so-far reported value (queried where nothing is reported) against queries, a band of one standard
    deviation, one line per algorithm."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from fgp.search.run import _best_after, trial_label

    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    lowest = []
    for label in sorted({trial_label(r) for r in records}):
        rs = [r for r in records if trial_label(r) == label]
        n = min(len(r["queries"]) for r in rs)
        curves = np.array([[_best_after(r, k) for k in range(1, n + 1)] for r in rs])
        mean, std = curves.mean(0), curves.std(0)
        x = np.arange(1, n + 1)
        ax.plot(x, mean, label=label)
        ax.fill_between(x, mean - std, mean + std, alpha=0.15)
        lowest.append(mean[min(9, n - 1)] - std[min(9, n - 1)])
    ax.set_ylim(bottom=min(lowest))  # from the 10th query on: the first few random queries would squash the rest
    first = records[0]
    ax.set_xlabel("queries")
    ax.set_ylabel(f"{first['report_label'] or first['query_label']}, best by {first['query_label']}")
    ax.set_title(f"{first['space']} / {first['dataset']}: mean over trials ± std")
    ax.legend()
    FigureCanvasAgg(fig).print_png(fh)
