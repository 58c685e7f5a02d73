"""``fgp fit`` (a predictor from your labelled architectures) and ``fgp predict`` (scores and a ranking)."""

from __future__ import annotations

import csv
import io
import json
import sys


def register(sub) -> None:
    fit = sub.add_parser(
        "fit", help="fit a predictor on your own labelled architectures and save it",
        description="Pre-train an encoder on the search space (labels unused; the whole space where it is "
        "enumerable) and fine-tune it on your labelled architectures, with the settings measured for that space "
        "and encoder (fgp.recipes). The training file is .csv (columns arch,label) or .jsonl "
        '({"arch": ..., "label": ...} per line); architectures in the space\'s native form (NB201 arch strings; '
        "NB101 [adjacency, ops] and NAS-Bench-Graph [links, ops] as JSON). Higher labels are better.")
    fit.add_argument("--space", required=True, help="search space: nb201, nb101, nbgraph, nb301, tnb101_macro, or "
                     "your own as package.module:Class (a fgp.spaces.ModelSpace; architectures as JSON)")
    fit.add_argument("--train", required=True, metavar="FILE", help="labelled architectures (.csv or .jsonl)")
    fit.add_argument("--val", metavar="FILE", help="labelled architectures for model selection (default: none, the "
                     "last epoch is kept)")
    fit.add_argument("--out", required=True, metavar="MODEL", help="where to save the predictor (e.g. model.fgp)")
    fit.add_argument("--encoder", default="gatedgcn", help="encoder (default gatedgcn; gin, flowerformer)")
    fit.add_argument("--pretrain", default="fgp", help="pretext task, fgp by default: none (supervised only), "
                     "{pretexts}")
    fit.add_argument("--dataset", help="dataset whose networks zero-cost proxies are scored on (default: the "
                     "space's main one)")
    fit.add_argument("--seed", type=int, default=0, help="seed of initialisation and fine-tuning (default 0)")
    fit.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    fit.add_argument("--force", action="store_true", help="overwrite MODEL if it exists")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fit.set_defaults(func=run_fit)

    pred = sub.add_parser(
        "predict", help="score architectures with a saved predictor (CSV, best first)",
        description="Score architectures with a predictor saved by fgp fit and write them best first as CSV "
        "(rank,arch,score). Scores only order architectures; their scale means nothing.")
    pred.add_argument("--model", required=True, help="a predictor saved by fgp fit")
    what = pred.add_mutually_exclusive_group(required=True)
    what.add_argument("--archs", metavar="FILE", help="candidates: .txt (one per line), .csv (arch column) or .jsonl")
    what.add_argument("--space-all", action="store_true", help="every architecture of the model's space "
                      "(enumerable spaces: nb201, nbgraph, tnb101_macro)")
    pred.add_argument("--out", required=True, help="scores file (.csv)")
    pred.add_argument("--top", type=int, help="keep only the best N")
    pred.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    pred.add_argument("--force", action="store_true", help="overwrite the scores file if it exists")
    pred.set_defaults(func=run_predict)


def run_fit(args) -> int:
    from fgp.archfile import read_archs
    from fgp.io import check_output
    from fgp.predictor import Predictor
    from fgp.validation import torch_device

    out = check_output(args.out, args.force)  # before any work
    if args.device is not None:
        torch_device(args.device, "--device")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    pretrain = None if args.pretrain == "none" else args.pretrain
    model = Predictor.for_space(args.space, args.encoder, pretrain, dataset=args.dataset, seed=args.seed,
                                device=args.device)
    model.resolved_config()  # options checked before the files are read
    train = read_archs(args.train, args.space, labelled=True)
    val = read_archs(args.val, args.space, labelled=True) if args.val else None
    model.fit(train.archs, train.labels, val_archs=val.archs if val else None, val_y=val.labels if val else None,
              progress=not args.quiet)
    model.save(out)
    info = model.info_
    tau = info["finetune"]["best_val_tau"]
    print(f"fitted on {len(train.archs)} architectures" + (f", validation Kendall tau {tau:.3f}" if val else "")
          + (f", pre-trained on {info['pretrain']['graphs']}" if "pretrain" in info else "") + f": {out}",
          file=sys.stderr)
    return 0


def run_predict(args) -> int:
    from fgp.archfile import read_archs
    from fgp.io import check_output, write_atomic
    from fgp.predictor import Predictor

    out = check_output(args.out, args.force)
    if args.top is not None and args.top < 1:
        raise ValueError(f"--top must be a positive integer, got {args.top}")
    model = Predictor.load(args.model, device=args.device)
    if model.space is None:
        raise ValueError(f"{args.model} was fitted on graphs without a space: score it from Python")
    if args.space_all:
        from fgp.spaces import get_space

        try:
            archs = list(get_space(model.space).enumerate())
        except NotImplementedError:
            raise ValueError(f"{model.space} cannot be enumerated: pass --archs FILE") from None
    else:
        archs = read_archs(args.archs, model.space).archs
    ranking = model.rank(archs, top=args.top)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["rank", "arch", "score"])
    for position, (i, score) in enumerate(ranking, 1):
        arch = archs[i]
        writer.writerow([position, arch if isinstance(arch, str) else json.dumps(arch), f"{score:.6g}"])
    write_atomic(out, lambda fh: fh.write(text.getvalue().encode()))
    print(f"scored {len(archs)} architectures, wrote {len(ranking)} best first: {out}", file=sys.stderr)
    return 0
