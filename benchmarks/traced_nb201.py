"""The real check of your own architectures: the project's NB201 networks traced with ``fgp.models.from_torch``, and
the published protocol at 1% (9 runs, ``fgp experiment``'s splits) with ResGatedGCN + FGP on the traced graphs
against the benchmark's labels, beside the cell graphs' numbers (benchmarks/results/defaults/nb201_1pct.jsonl).

    python benchmarks/traced_nb201.py trace                 # all 15,625 networks (cached; an interrupted run resumes)
    python benchmarks/traced_nb201.py time                  # seconds per pre-training epoch on the traced graphs
    python benchmarks/traced_nb201.py run --epochs 200      # the 9 runs, one JSON line each (resumes)
    python benchmarks/traced_nb201.py onnx --sample 50      # ONNX exports of a sample against the fx graphs
    python benchmarks/traced_nb201.py report                # the traced runs beside the cell graphs' runs
    python benchmarks/traced_nb201.py describe              # what the traced graphs hold beside the cells
    python benchmarks/traced_nb201.py speed --space nb101   # networks traced per second on a sample (nb201, nb101)
    python benchmarks/traced_nb201.py scales                # surrogate sizes per std (own spaces' constants)

Everything but the graphs is the cell graphs' setting (``Predictor.for_space("nb201")``: undirected ResGatedGCN,
L_aux ranking the shipped snip values, the raw surrogate with NB201's k=7, std=0.1, pre-training seed 0 on all
15,625 architectures), so a difference is the representation's. Traced graphs are cached under
``$FGP_CACHE/traced`` (tracing is done once).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import fgp
from fgp.batch import GraphBatch
from fgp.io import cache_root, write_atomic
from fgp.models import from_torch, unify_vocab
from fgp.networks import build_network
from fgp.spaces import get_space

CHUNK = 500  # networks per cached part: an interrupted trace loses at most one part
INPUT = (1, 3, 32, 32)  # CIFAR-10 images, as the benchmark trained them; tracing reads the shape only
FIELDS = ("op_index", "edge_index", "generation", "node_ptr", "edge_ptr", "attrs")


def cache_folder() -> Path:
    return cache_root() / "traced" / f"nb201-fgp{fgp.__version__}-torch{'.'.join(torch.__version__.split('.')[:2])}"


def trace_cells(cells: list[str]) -> tuple[list, float]:
    """The traced graphs of the cells' networks, and the seconds spent (building plus tracing)."""
    space = get_space("nb201")
    start = time.perf_counter()
    graphs = []
    with warnings.catch_warnings():  # cells cut by 'none' edges compute a constant: input -> zero -> output
        warnings.simplefilter("ignore", UserWarning)
        for cell in cells:
            graphs.append(from_torch(build_network("nb201", space.decode(cell)), INPUT))
    return graphs, time.perf_counter() - start


def save_batch(path: Path, batch: GraphBatch, extra: dict) -> None:
    payload = {name: getattr(batch, name) for name in FIELDS}
    payload["meta"] = json.dumps({"vocab": list(batch.vocab), **extra})
    write_atomic(path, lambda fh: torch.save(payload, fh))


def load_batch(path: Path) -> tuple[GraphBatch, dict]:
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload.pop("meta"))
    counts = payload["node_ptr"][1:] - payload["node_ptr"][:-1]
    batch = GraphBatch(batch=torch.arange(counts.numel()).repeat_interleave(counts), vocab=tuple(meta.pop("vocab")),
                       **payload)
    return batch, meta


def traced_batch() -> GraphBatch:
    """All 15,625 traced networks in NB201's official order (the benchmark table's row order)."""
    path = cache_folder() / "all.pt"
    if not path.is_file():
        raise SystemExit(f"no traced graphs at {path}: run `python benchmarks/traced_nb201.py trace` first")
    return load_batch(path)[0]


def cmd_trace(args) -> None:
    torch.set_num_threads(1)
    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    cells = list(get_space("nb201").enumerate())  # the official order, as load_benchmark("nb201") rows
    parts, seconds = [], 0.0
    for start in range(0, len(cells), CHUNK):
        path = folder / f"part{start // CHUNK:03d}.pt"
        if not path.is_file():
            graphs, spent = trace_cells(cells[start:start + CHUNK])
            save_batch(path, GraphBatch.from_graphs(unify_vocab(graphs)), {"seconds": spent, "count": len(graphs)})
            print(f"traced {start + len(graphs)} / {len(cells)}: {len(graphs) / spent:.1f} networks/s", flush=True)
        batch, meta = load_batch(path)
        parts.append(batch)
        seconds += meta["seconds"]
    whole = parts[0]
    for part in parts[1:]:
        whole = whole.concat(part)
    nodes = (whole.node_ptr[1:] - whole.node_ptr[:-1]).numpy()
    summary = {"networks": whole.num_graphs, "seconds": seconds, "networks_per_second": whole.num_graphs / seconds,
               "nodes_min": int(nodes.min()), "nodes_mean": float(nodes.mean()), "nodes_max": int(nodes.max()),
               "generations_max": int(whole.generation.max()), "vocab_used": sorted(
                   {whole.vocab[i] for i in whole.op_index.unique().tolist()})}
    save_batch(folder / "all.pt", whole, summary)
    print(json.dumps(summary))


# the protocol on the traced graphs ----------------------------------------------------------------------------


def predictor(seed: int, pretrain: str | None, epochs: int, layers: int | None = None):
    """``Predictor.for_space("nb201")``'s settings for graphs given without a space: NB201's surrogate constants
    (the space is not inferred from the traced graphs' vocabulary) and ``epochs`` of pre-training; ``layers``
    replaces the encoder's depth (a diagnostic: 3 layers see 3 hops of graphs ~190 generations deep)."""
    from fgp.predictor import Predictor

    extra = {"encoder_kwargs": {"layers": layers}} if layers else {}
    params = Predictor.for_space("nb201", "gatedgcn", pretrain, seed=seed, **extra).get_params()
    if pretrain:
        k, std = get_space("nb201").surrogate
        params["pretrain_kwargs"] = {**params["pretrain_kwargs"], "k": k, "std": std, "epochs": epochs}
    return Predictor(**{**params, "space": None})


def snip_values() -> np.ndarray:
    """L_aux's proxy of the cell graphs' runs: NB201's shipped snip values, in the table's order."""
    from fgp.datasets import load_benchmark
    from fgp.experiment import proxy_values

    return proxy_values(load_benchmark("nb201"), "snip", progress=False)


def run_config_id(model) -> str:
    """The config id of a traced run: the predictor's resolved options and the graphs it ran on."""
    from fgp.results import config_id

    return config_id({**model.resolved_config(), "graphs": "nb201 networks traced by fgp.models.from_torch"})


def cmd_time(args) -> None:
    """Seconds per pre-training epoch on all 15,625 traced graphs (and the set-up before the first epoch)."""
    from fgp.encoders import create_encoder
    from fgp.pretrain import create_pretext

    torch.set_num_threads(1)
    batch = traced_batch()
    params = predictor(0, "fgp", epochs=args.epochs).get_params()
    torch.manual_seed(0)
    encoder = create_encoder("gatedgcn", batch.num_ops, num_attrs=batch.num_attrs, **params["encoder_kwargs"])
    stamps = [time.perf_counter()]
    create_pretext("fgp", **params["pretrain_kwargs"]).run(
        encoder, batch, snip_values(), cache=False, progress=lambda epoch, record: stamps.append(time.perf_counter()))
    print(json.dumps({"graphs": batch.num_graphs, "nodes": batch.num_nodes,
                      "set_up_and_first_epoch_seconds": stamps[1] - stamps[0],
                      "epoch_seconds": np.diff(stamps[1:]).tolist(), "threads": torch.get_num_threads()}))


def cmd_run(args) -> None:
    from fgp.datasets import load_benchmark
    from fgp.metrics import ranking_metrics
    from fgp.splits import protocol_runs, protocol_split

    torch.set_num_threads(1)  # as the fgp command runs
    out = Path(args.out)
    done = {(r["pretrain"], r.get("layers"), r["seed"], r["permutation"])
            for r in map(json.loads, out.read_text().splitlines())} if out.is_file() else set()
    batch = traced_batch()
    bench = load_benchmark("nb201")
    proxy = snip_values()
    pretrain = None if args.pretrain == "none" else args.pretrain
    for seed, perm in protocol_runs(args.runs):
        if (args.pretrain, args.layers, seed, perm) in done:
            continue
        split = protocol_split(len(bench), args.ratio, perm, "nb201", dataset=bench.dataset)
        model = predictor(seed, pretrain, args.epochs, args.layers)
        # as fgp experiment: pre-training sees all 15,625 graphs (the labelled ones among them), labels unused
        extra = {"unlabeled": batch, "proxy_values": proxy[split.train], "unlabeled_proxy_values": proxy} if pretrain \
            else {}
        start = time.perf_counter()
        model.fit(batch.subset(split.train), bench.y[split.train], val_archs=batch.subset(split.val),
                  val_y=bench.y[split.val], **extra)
        record = {"config_id": run_config_id(model), "graphs": "traced", "pretrain": args.pretrain,
                  "pretrain_epochs": args.epochs if pretrain else None,
                  **({"layers": args.layers} if args.layers else {}),
                  "ratio": args.ratio, "seed": seed, "permutation": perm,
                  **ranking_metrics(model.predict(batch.subset(split.test)), bench.y[split.test]),
                  "best_val_tau": model.info_["finetune"]["best_val_tau"],
                  "pretrain_graphs": model.info_.get("pretrain", {}).get("graphs", 0),
                  "pretrain_seconds": model.info_.get("pretrain", {}).get("seconds", 0.0),
                  "pretrain_cached": model.info_.get("pretrain", {}).get("cached", False),
                  "seconds": time.perf_counter() - start, "fgp_version": fgp.__version__}
        with out.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


# ONNX exports against the fx graphs --------------------------------------------------------------------------


def merge_duplicates(graph):
    """``graph`` with every weight-free operation that repeats another (same op, attributes and inputs) merged into
    it: what the TorchScript ONNX exporter's common-subexpression elimination does (two ReLUs reading one tensor
    become one Relu; two convolutions never merge, their weights differ). Returns the graph and the merge count."""
    from fgp.graph import ArchGraph
    from fgp.models.ops import CONV_OPS, NORMS

    weighted = {*CONV_OPS, *NORMS, "linear", "conv_transpose", "embedding", "prelu", "attention", "input", "output"}
    same: dict[int, int] = {}
    seen: dict[tuple, int] = {}
    preds: dict[int, set[int]] = {v: set() for v in range(graph.num_nodes)}
    for u, v in graph.edges:
        preds[v].add(u)
    for v in np.argsort(graph.generations, kind="stable").tolist():
        key = (graph.ops[v], tuple(graph.attrs[v]), frozenset(same.get(u, u) for u in preds[v]))
        if graph.ops[v] not in weighted and key in seen:
            same[v] = seen[key]
        else:
            seen.setdefault(key, v)
    keep = [v for v in range(graph.num_nodes) if v not in same]
    new = {v: i for i, v in enumerate(keep)}
    edges = {(new[same.get(u, u)], new[same.get(v, v)]) for u, v in graph.edges}
    merged = ArchGraph([graph.ops[v] for v in keep], edges, graph.vocab, graph.attrs[keep])
    return merged, len(same)


def differences(fx, other) -> list[str]:
    """What differs between the fx and the ONNX graph of one network, in words (empty when they are equal)."""
    from collections import Counter

    if fx == other:
        return []
    found = []
    ops_fx, ops_other = Counter(fx.ops), Counter(other.ops)
    for op in sorted(set(ops_fx) | set(ops_other)):
        if ops_fx[op] != ops_other[op]:
            found.append(f"{op}: {ops_fx[op]} (fx) vs {ops_other[op]} (onnx)")
    if len(fx.edges) != len(other.edges):
        found.append(f"edges: {len(fx.edges)} (fx) vs {len(other.edges)} (onnx)")
    merged, count = merge_duplicates(fx)
    if merged.canonical_hash() == other.canonical_hash() and sorted(map(tuple, merged.attrs)) == sorted(
            map(tuple, other.attrs)):
        found.append(f"equal up to node numbering once the fx graph's {count} repeated weight-free operations are "
                     "merged (the exporter's common-subexpression elimination)")
    elif fx.canonical_hash() == other.canonical_hash():
        found.append("the same ops and wiring numbered differently" + (
            "" if sorted(map(tuple, fx.attrs)) == sorted(map(tuple, other.attrs)) else ", other node attributes"))
    else:
        found.append("not explained by merged duplicates or node numbering")
    return found


def cmd_onnx(args) -> None:
    import io

    import onnx

    from fgp.models import from_onnx

    torch.set_num_threads(1)
    space = get_space("nb201")
    cells = list(space.enumerate())
    rng = np.random.default_rng(args.seed)
    sample = [cells[i] for i in sorted(rng.choice(len(cells), args.sample, replace=False))]
    report = []
    for cell in sample:
        net = build_network("nb201", space.decode(cell))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fx = from_torch(net, INPUT)
            buffer = io.BytesIO()
            torch.onnx.export(net, (torch.zeros(INPUT),), buffer, dynamo=False, do_constant_folding=False,
                              training=torch.onnx.TrainingMode.TRAINING)
            other = from_onnx(onnx.load_from_string(buffer.getvalue()))
        report.append({"cell": cell, "nodes": fx.num_nodes, "differences": differences(fx, other)})
    same = sum(not r["differences"] for r in report)
    summary = {"networks": len(report), "identical": same, "seed": args.seed, "torch": torch.__version__,
               "onnx": onnx.__version__, "differing": [r for r in report if r["differences"]]}
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{same} of {len(report)} ONNX exports give the fx graph exactly")


def cmd_describe(args) -> None:
    """What the traced graphs hold beside the cells: sizes, ops, attributes, and how many graphs are distinct."""
    from collections import Counter

    from fgp.batch import graph_keys
    from fgp.datasets import load_benchmark
    from fgp.metrics import kendall_tau
    from fgp.models import ATTRIBUTES

    batch = traced_batch()
    nodes = (batch.node_ptr[1:] - batch.node_ptr[:-1]).numpy()
    ops = Counter(batch.vocab[i] for i in batch.op_index.tolist())
    attrs = batch.attrs.numpy()
    cells = get_space("nb201", pruned=True)
    distinct_cells = len({cells.decode(c).canonical_hash() for c in cells.enumerate()})

    def merged_ceiling(keys: list) -> float:
        """Kendall tau with the labels of the best predictor a representation allows: cells with one graph get one
        score (their mean label), so only training noise separates them."""
        groups: dict = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        scores = np.empty(len(keys))
        for rows in groups.values():
            scores[rows] = bench.y[rows].mean()
        return kendall_tau(scores, bench.y)

    bench = load_benchmark("nb201")
    summary = {
        "graphs": batch.num_graphs, "nodes_min": int(nodes.min()), "nodes_median": float(np.median(nodes)),
        "nodes_max": int(nodes.max()), "generations_max": int(batch.generation.max()),
        "ops_per_graph": {op: round(n / batch.num_graphs, 2) for op, n in ops.most_common()},
        "constant_networks": int((nodes == 3).sum()),
        "attribute_values": {a: sorted({round(float(v), 3) for v in attrs[:, j]}) for j, a in enumerate(ATTRIBUTES)},
        "distinct_traced_graphs_exact": len(set(graph_keys(batch))),
        "distinct_pruned_cell_graphs_isomorphism": distinct_cells,
        "ceiling_tau_traced_graphs": merged_ceiling(graph_keys(batch)),
        "ceiling_tau_pruned_cell_graphs": merged_ceiling(graph_keys(load_benchmark("nb201", space_options={
            "pruned": True}).batch())),
    }
    print(json.dumps(summary, indent=1))


def cmd_scales(args) -> None:
    """How large flow surrogates get on a sample of the traced networks for each std: why own spaces use 0.1."""
    from fgp.surrogate import flow_surrogate

    torch.set_num_threads(1)
    batch = traced_batch()
    rows = np.random.default_rng(args.seed).choice(batch.num_graphs, args.sample, replace=False)
    sample = batch.subset(rows)
    for std in (0.1, 0.3, 0.5, 1.0):
        s = flow_surrogate(sample, k=args.k, std=std, seed=0, dtype=torch.float64)[0].norm(dim=1).numpy()
        print(json.dumps({"k": args.k, "std": std, "graphs": args.sample, "norm_min": float(s.min()),
                          "norm_median": float(np.median(s)), "norm_max": float(s.max())}))


def cmd_speed(args) -> None:
    """Networks built and traced per second on a sample of a space's cells (one thread)."""
    torch.set_num_threads(1)
    space = get_space(args.space)
    rng = np.random.default_rng(args.seed)
    natives = [space.sample(rng) for _ in range(args.sample)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        start = time.perf_counter()
        networks = [build_network(args.space, space.decode(a)) for a in natives]
        built = time.perf_counter()
        graphs = [from_torch(net, INPUT) for net in networks]
        done = time.perf_counter()
    print(json.dumps({"space": args.space, "networks": len(graphs), "build_per_second": len(graphs) / (built - start),
                      "trace_per_second": len(graphs) / (done - built),
                      "build_and_trace_per_second": len(graphs) / (done - start),
                      "nodes_mean": float(np.mean([g.num_nodes for g in graphs]))}))


def cmd_report(args) -> None:
    """The traced graphs' runs beside the cell graphs' (x100, mean ± std over the 9 runs; paired differences)."""

    def rows(path: str, **match) -> dict[tuple, dict]:
        records = [json.loads(line) for line in Path(path).read_text().splitlines()]
        return {(r["seed"], r["permutation"]): r for r in records if all(r.get(k) == v for k, v in match.items())}

    metrics = ("kendall_tau", "precision_at_1", "precision_at_5", "best_val_tau")
    table = {
        "cells, none": rows(args.cells, encoder="gatedgcn", pretrain="none"),
        "cells, FGP 200 epochs": rows(args.cells, encoder="gatedgcn", pretrain="fgp"),
        f"cells, FGP {args.epochs} epochs": rows(args.cells_short, encoder="gatedgcn", pretrain="fgp"),
        "traced, none": rows(args.out, pretrain="none", layers=None),
        f"traced, FGP {args.epochs} epochs": rows(args.out, pretrain="fgp", pretrain_epochs=args.epochs, layers=None),
    }
    records = [json.loads(line) for line in Path(args.out).read_text().splitlines()]
    deeper = [f"traced, none, {depth} layers" for depth in sorted({r["layers"] for r in records if r.get("layers")})]
    for name in deeper:
        table[name] = rows(args.out, pretrain="none", layers=int(name.split()[-2]))
    print("| graphs, pre-training | runs | " + " | ".join(metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for name, runs in table.items():
        values = [100 * np.array([r[m] for r in runs.values()]) for m in metrics]
        cells = [f"{v.mean():.1f} ± {v.std():.1f}" for v in values]
        print(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    for a, b in ((f"cells, FGP {args.epochs} epochs", f"traced, FGP {args.epochs} epochs"),
                 ("cells, none", "traced, none"), ("traced, none", f"traced, FGP {args.epochs} epochs"),
                 *(("traced, none", name) for name in deeper)):
        keys = sorted(set(table[a]) & set(table[b]))
        diff = np.array([table[b][k]["kendall_tau"] - table[a][k]["kendall_tau"] for k in keys]) * 100
        if len(keys) > 1:
            print(f"{b} - {a}: Kendall tau {diff.mean():+.1f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.1f} "
                  f"(paired, {len(keys)} runs, higher in {(diff > 0).sum()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("trace").set_defaults(func=cmd_trace)
    p = sub.add_parser("time")
    p.add_argument("--epochs", type=int, default=2)
    p.set_defaults(func=cmd_time)
    p = sub.add_parser("run")
    p.add_argument("--pretrain", default="fgp", choices=("fgp", "none"))
    p.add_argument("--epochs", type=int, default=200, help="pre-training epochs")
    p.add_argument("--ratio", type=float, default=0.01)
    p.add_argument("--runs", type=int, default=9, help="the first RUNS of the protocol's 9 (seed x permutation)")
    p.add_argument("--layers", type=int, help="encoder layers (default: the recipe's 3)")
    p.add_argument("--out", default="benchmarks/results/traced_nb201_1pct.jsonl")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("report")
    p.add_argument("--out", default="benchmarks/results/traced_nb201_1pct.jsonl")
    p.add_argument("--cells", default="benchmarks/results/defaults/nb201_1pct.jsonl")
    p.add_argument("--cells-short", default="benchmarks/results/defaults/nb201_fgp_50epochs_1pct.jsonl")
    p.add_argument("--epochs", type=int, default=50, help="the traced runs' pre-training epochs")
    p.set_defaults(func=cmd_report)
    sub.add_parser("describe").set_defaults(func=cmd_describe)
    p = sub.add_parser("scales")
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--sample", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_scales)
    p = sub.add_parser("speed")
    p.add_argument("--space", default="nb201", choices=("nb201", "nb101"))
    p.add_argument("--sample", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_speed)
    p = sub.add_parser("onnx")
    p.add_argument("--sample", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/traced_nb201_onnx.json")
    p.set_defaults(func=cmd_onnx)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
