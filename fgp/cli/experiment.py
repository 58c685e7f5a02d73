"""``fgp experiment`` (the protocol grid), ``fgp report`` (its table), ``fgp compare`` (two configurations, paired)
and ``fgp run`` (the main job)."""

from __future__ import annotations

import sys

from fgp.cli import key_value_options

# The main job must finish in about 5 minutes on 2 CPU cores: fewer pre-training and fine-tuning epochs than the
# protocol (200 pre-training / 300 fine-tuning); the timing is in benchmarks/RESULTS.md.
MAIN_JOB = {"space": "nbgraph", "runs": 3, "pretrain_epochs": 50, "finetune_epochs": 150}


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ratios(text: str) -> list[float]:
    try:
        return [float(t) for t in _csv(text)]
    except ValueError:
        raise ValueError(f"--ratio takes comma-separated numbers in (0, 1], got {text!r}") from None


def _pretrains(text: str) -> list[str | None]:
    return [None if p == "none" else p for p in _csv(text)]


def _add_grid_arguments(p, defaults: dict) -> None:
    p.add_argument("--space", default=defaults.get("space"), required="space" not in defaults,
                   help="search space with benchmark data: nb101, nb201, nbgraph, tnb101_macro")
    p.add_argument("--dataset", help="dataset of the space (default: the space's main one, e.g. cora on nbgraph)")
    p.add_argument("--label", help="label column (default: the dataset's test accuracy or equivalent)")
    p.add_argument("--encoder", default="gatedgcn", help="comma-separated encoders (fgp.encoders.list_encoders)")
    p.add_argument("--ratio", default="0.01", help="comma-separated training ratios of the pool (default 0.01)")
    p.add_argument("--runs", type=int, default=defaults.get("runs", 9), help="runs per setting, 1-9 (seed x perm)")
    p.add_argument("--train-only", action="store_true",
                   help="pre-train on the training pool only (default: on every architecture, labels unused)")
    p.add_argument("--pretrain-dataset", metavar="DATASET",
                   help="another dataset of the space whose architectures join the pre-training set, labels unused "
                   "(e.g. cifar10-30k on nb101: the 30,001 labelled cells for the 14,580-cell protocol)")
    p.add_argument("--proxy", help="what drives FGP's L_aux: a benchmark column (params) or a zero-cost proxy "
                   "(synflow, grad_norm, ...), or several comma-separated (L_aux ranks each); default: snip on nb201 "
                   "(grad_norm for flowerformer), snip on 16-channel-stem networks on nb101 (grad_norm for "
                   "flowerformer), params elsewhere")
    p.add_argument("--proxy-opt", action="append", metavar="KEY=VALUE",
                   help="option of the networks computed proxies are scored on (repeatable), e.g. stem_channels=16 "
                   "on nb101 (cheaper, less exact; see fgp proxies --network-opt)")
    p.add_argument("--head-hidden", type=int, metavar="WIDTH",
                   help="hidden width of the score head (default: the encoder's width; 0: a linear head)")
    p.add_argument("--ensemble", type=int, default=1,
                   help="score models fine-tuned per run (seeds seed, seed+1, ...); their mean predicts (default 1)")
    p.add_argument("--pretrain-epochs", type=int, default=defaults.get("pretrain_epochs"),
                   help="pre-training epochs (default: the recipe's, 200 for most encoders"
                   + (f"; {defaults['pretrain_epochs']} in this quick job)" if "pretrain_epochs" in defaults else ")"))
    p.add_argument("--finetune-epochs", type=int, default=defaults.get("finetune_epochs"),
                   help="fine-tuning epochs (default: the recipe's, 300 for most encoders"
                   + (f"; {defaults['finetune_epochs']} in this quick job)" if "finetune_epochs" in defaults else ")"))
    p.add_argument("--space-opt", action="append", metavar="KEY=VALUE",
                   help="search-space option choosing the graph representation (repeatable), e.g. pruned=true on "
                   "nb201: `none` edges cut the path and are left out of the graphs")
    p.add_argument("--encoder-opt", action="append", metavar="KEY=VALUE",
                   help="encoder option (repeatable): KEY=VALUE for every encoder of the grid, ENCODER.KEY=VALUE for "
                   "one (e.g. gatedgcn.hidden=64)")
    p.add_argument("--pretrain-opt", action="append", metavar="KEY=VALUE", help="pre-training option (repeatable)")
    p.add_argument("--finetune-opt", action="append", metavar="KEY=VALUE",
                   help="fine-tuning option (repeatable); flowerformer starts from its authors' settings per space")
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--workers", type=int, default=1,
                   help="runs at once, each in its own process with one torch thread (default 1; the same numbers)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="where the workers run: processes here (local) or a Ray cluster (ray; pip install 'fgp[ray]')")
    p.add_argument("--address", help="with --backend ray: the cluster's address (default: a local Ray instance)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(sub) -> None:
    exp = sub.add_parser("experiment", help="run the published protocol grid and append results (JSON Lines)")
    _add_grid_arguments(exp, {})
    exp.add_argument("--pretrain", default="none,fgp", help="comma-separated: none, {pretexts} (default none,fgp)")
    exp.add_argument("--out", required=True, help="results file (JSON Lines); finished runs in it are skipped")
    exp.set_defaults(func=run_experiment_command)

    rep = sub.add_parser("report", help="mean ± std table (markdown) of one or more results files")
    rep.add_argument("files", nargs="+")
    rep.add_argument("--metrics", default="kendall_tau,precision_at_1,precision_at_5",
                     help="comma-separated metrics (kendall_tau, spearman, precision_at_{1,5,10,50}; best_val_tau: "
                          "the validation tau of the kept epoch, the only one to choose settings by)")
    rep.add_argument("--wins", action="store_true",
                     help="which pre-training is best per encoder, setting and metric, and how often FGP is")
    rep.set_defaults(func=run_report)

    cmp = sub.add_parser("compare", help="paired comparison of two configurations, run by run (markdown)")
    cmp.add_argument("base", metavar="BASE", help="results file, or FILE:CONFIG_ID when it holds several")
    cmp.add_argument("candidate", metavar="CANDIDATE", help="results file, or FILE:CONFIG_ID")
    cmp.add_argument("--metrics", default="best_val_tau,kendall_tau,precision_at_1",
                     help="comma-separated metrics (default: validation tau, Kendall tau, P@1%%)")
    cmp.set_defaults(func=run_compare)

    main_job = sub.add_parser(
        "run",
        help="the main job: ResGatedGCN with and without FGP at 1%% labels on NAS-Bench-Graph, as a table",
        description="Compare supervised-only and FGP-pre-trained encoders under the published protocol "
        f"(defaults: {MAIN_JOB['space']}/cora, {MAIN_JOB['runs']} runs, "
        f"{MAIN_JOB['pretrain_epochs']} pre-training and {MAIN_JOB['finetune_epochs']} fine-tuning epochs, fewer than "
        "fgp experiment's; about 5 minutes on 2 CPU cores).",
    )
    _add_grid_arguments(main_job, MAIN_JOB)
    main_job.add_argument("--pretrain", default="none,fgp", help="comma-separated: none, {pretexts}")
    main_job.add_argument("--out", help="also append the runs to this results file")
    main_job.set_defaults(func=run_experiment_command)


def _per_encoder(options: dict, encoders: list[str]) -> dict[str, dict]:
    """``KEY=VALUE`` applies to every encoder of the grid, ``ENCODER.KEY=VALUE`` to that encoder only (it wins)."""
    kwargs = {e: {k: v for k, v in options.items() if "." not in k} for e in encoders}
    for key, value in options.items():
        if "." in key:
            name, _, option = key.partition(".")
            if name not in kwargs:
                raise ValueError(f"--encoder-opt {key}={value}: {name!r} is not an encoder of this grid "
                                 f"({', '.join(encoders)})")
            kwargs[name][option] = value
    return {e: kw for e, kw in kwargs.items() if kw}


def _config(args):
    from fgp.experiment import ExperimentConfig

    encoders = _csv(args.encoder)
    encoder_opts = key_value_options(args.encoder_opt, "--encoder-opt")
    pretrain_kwargs = key_value_options(args.pretrain_opt, "--pretrain-opt")
    finetune_kwargs = key_value_options(args.finetune_opt, "--finetune-opt")
    if args.pretrain_epochs is not None:
        pretrain_kwargs["epochs"] = args.pretrain_epochs
    if args.finetune_epochs is not None:
        finetune_kwargs["epochs"] = args.finetune_epochs
    return ExperimentConfig(
        space=args.space,
        dataset=args.dataset,
        label=args.label,
        encoders=encoders,
        pretrains=_pretrains(args.pretrain),
        ratios=_ratios(args.ratio),
        runs=args.runs,
        transductive=not args.train_only,
        pretrain_dataset=args.pretrain_dataset,
        proxy=args.proxy,
        proxy_network=key_value_options(args.proxy_opt, "--proxy-opt") if args.proxy_opt else None,
        head_hidden=args.head_hidden,
        ensemble=args.ensemble,
        encoder_kwargs=_per_encoder(encoder_opts, encoders),
        pretrain_kwargs=pretrain_kwargs,
        finetune_kwargs=finetune_kwargs,
        space_options=key_value_options(args.space_opt, "--space-opt") if args.space_opt else None,
    )


def run_experiment_command(args) -> int:
    from fgp.experiment import run_experiment
    from fgp.report import markdown_table
    from fgp.validation import torch_device

    if args.device is not None:
        torch_device(args.device, "--device")  # a misspelt or absent device fails before any run
    config = _config(args)
    records = run_experiment(config, out=args.out, device=args.device, progress=not args.quiet, workers=args.workers,
                             backend=args.backend, address=args.address)
    if args.command == "run":
        print(f"Quick job: {args.pretrain_epochs} pre-training and {args.finetune_epochs} fine-tuning epochs "
              "(fgp experiment runs the protocol's, 200 and 300 for ResGatedGCN).")
    print(TABLE_CAPTION)
    print(markdown_table(records, ("kendall_tau", "spearman", "precision_at_1", "precision_at_5")))
    print(f"results: {args.out}" if args.out else "(pass --out FILE to keep the runs)", file=sys.stderr)
    return 0


TABLE_CAPTION = ("Test-set ranking quality, x100, mean ± std over the runs (Kendall tau, Spearman, Precision@K%: "
                 "the share of the true top K% among the predicted top K%):")


def run_report(args) -> int:
    from fgp.report import markdown_table
    from fgp.search import read_search, search_table

    searches = [f for f in args.files if _is_search_file(f)]
    if searches:  # search files: best-so-far after so many queries, per algorithm
        if len(searches) != len(args.files):
            raise ValueError("report either results files of fgp experiment or search files of fgp search, not both")
        print(search_table([r for f in searches for r in read_search(f)]))
        return 0
    from fgp.results import unique_runs

    records = unique_runs([r for f in args.files for r in _existing_results(f)])  # a run counted once
    if args.wins:
        from fgp.report import wins_table

        print(wins_table(records, _csv(args.metrics)))
        return 0
    print(markdown_table(records, _csv(args.metrics)))
    return 0


def _is_search_file(path: str) -> bool:
    """Whether the first line of ``path`` is a trial of ``fgp search`` (it has queries)."""
    import json
    from pathlib import Path

    try:
        with Path(path).open("rb") as fh:
            return "queries" in json.loads(fh.readline() or b"{}")
    except (OSError, ValueError, TypeError):
        return False


def run_compare(args) -> int:
    from fgp.report import paired_table

    print(paired_table(_one_configuration(args.base), _one_configuration(args.candidate), _csv(args.metrics)))
    return 0


def _one_configuration(spec: str) -> list[dict]:
    """The records of ``FILE`` or ``FILE:CONFIG_ID`` (a config id is the 10 hex digits after the last colon)."""
    path, _, cid = spec.rpartition(":")
    if not (path and len(cid) == 10 and all(c in "0123456789abcdef" for c in cid)):
        return _existing_results(spec)
    records = [r for r in _existing_results(path) if r["config_id"] == cid]
    if not records:
        raise ValueError(f"no results of configuration {cid} in {path}")
    return records


def _existing_results(path: str) -> list[dict]:
    from fgp.results import read_results, unique_runs

    records = unique_runs(read_results(path))
    if not records:
        raise ValueError(f"no results in {path} (missing or empty file)")
    return records
