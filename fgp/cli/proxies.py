"""``fgp proxies``: zero-cost proxy values of every architecture of a benchmark, saved as ``.npz``."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "proxies",
        help="compute zero-cost proxies of a benchmark's architectures",
        description="Compute zero-cost proxies (no training, random inputs with a fixed seed) on the real network "
        "of every architecture of a benchmark and save them as an .npz: 'index' (the benchmark's architecture ids) "
        "and one float64 array per proxy ('params' is a plain parameter count). Values are cached under "
        "$FGP_CACHE (default ~/.cache/fgp) and reused; the defaults behind FGP's L_aux (NB201 snip and grad_norm, "
        "NB101 snip with stem_channels=16) ship with the package.",
    )
    p.add_argument("--space", required=True, help="search space with networks: nb201, nb101, nbgraph")
    p.add_argument("--dataset", help="benchmark dataset of the space (default: the space's main one)")
    p.add_argument("--proxy", required=True,
                   help="comma-separated proxy names: params, flops, synflow, nwot, snip, grad_norm")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--sample", type=int, help="score only this many architectures, drawn uniformly with --seed "
                   "(kept in benchmark order)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, inputs and --sample (default 0)")
    p.add_argument("--batch-size", type=int, help="random samples (graph nodes for nbgraph) of nwot/snip/grad_norm")
    p.add_argument("--network-opt", action="append", metavar="KEY=VALUE",
                   help="network builder option (repeatable), e.g. stem_channels=16 on nb101 or channels=8 on nb201: "
                   "a narrower network is cheaper to score, at some loss of agreement with the benchmark's network")
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the proxy cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file, and run a request "
                   "estimated above 1 hour")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np
    import torch

    from fgp.cli import key_value_options
    from fgp.io import check_output, write_atomic
    from fgp.networks import get_family
    from fgp.proxies import compute_proxies, get_proxy
    from fgp.validation import torch_device

    names = [n.strip() for n in args.proxy.split(",")]
    if not all(names):
        raise ValueError(f"--proxy: empty proxy name in {args.proxy!r}")
    for n in names:
        get_proxy(n)  # unknown proxy -> ValueError naming the choices
    if len(set(names)) != len(names):
        raise ValueError(f"--proxy: a proxy is named twice in {args.proxy!r}")
    get_family(args.space)  # space without networks -> ValueError
    network = key_value_options(args.network_opt, "--network-opt")
    if args.sample is not None and args.sample < 1:
        raise ValueError(f"--sample must be a positive integer, got {args.sample}")
    if args.batch_size is not None and args.batch_size < 2:
        raise ValueError(f"--batch-size must be at least 2, got {args.batch_size}")
    from fgp.cli import check_cost, seed_option

    seed_option(args.seed)
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be a positive integer, got {args.threads}")
        torch.set_num_threads(args.threads)
    device = torch_device(args.device, "--device")
    out = check_output(args.out, args.force)

    from fgp.datasets import load_benchmark

    bench = load_benchmark(args.space, args.dataset)
    rows = np.arange(len(bench))
    if args.sample is not None and args.sample < len(bench):
        rows = np.sort(np.random.default_rng(args.seed).choice(len(bench), args.sample, replace=False))
    graphs = bench.graphs
    archs = [graphs[int(i)] for i in rows] if len(rows) < len(bench) else graphs
    if any(get_proxy(n).kind == "network" for n in names) and len(archs) > 100:
        import time

        probe = [archs[i] for i in range(3)]  # timed on three architectures, uncached, before the long run
        start = time.perf_counter()
        compute_proxies(args.space, probe, names, dataset=bench.dataset, progress=False, seed=args.seed,
                        batch_size=args.batch_size, device=device, cache=False, network=network)
        seconds = (time.perf_counter() - start) / len(probe) * len(archs)
        check_cost(seconds, 0.0, args.force, f"{', '.join(names)} for {len(archs):,} architectures (at most; cached "
                   "values are not recomputed)")
    values = compute_proxies(
        args.space, archs, names, dataset=bench.dataset, progress=not args.quiet, seed=args.seed,
        batch_size=args.batch_size, device=device, cache=not args.no_cache, network=network,
    )
    arrays = {"index": np.asarray(bench.index)[rows], **values}
    write_atomic(out, lambda fh: np.savez(fh, **arrays))
    print(f"fgp proxies: wrote {', '.join(names)} of {len(rows)} architectures to {out}", file=sys.stderr)
    return 0
