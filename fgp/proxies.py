"""Zero-cost proxies: scores of an untrained architecture, from its network and random (or constant) inputs.

Every proxy is computed with no data and no training, and with a fixed seed: the network of every architecture
is initialised from ``torch.manual_seed(seed)`` and every architecture sees the same random batch (smooth random
images, :func:`fgp.networks.smooth_noise`, for the CIFAR spaces; a random graph with Gaussian node features for
NAS-Bench-Graph), so the same seed gives the same numbers (on CPU), and architectures are compared under common
random numbers.

==========  ====================================================================================================
``params``  trainable parameters (a plain count; closed form where the space has one)
``flops``   multiply-accumulates of convolutions and linear layers per sample (closed form)
``synflow`` ``log(1 + sum |w * dR/dw|)`` over the weights (``ndim >= 2``) of the network without batch norm, with
            all parameters made positive and ``R`` the sum of the outputs for an all-ones float64 input
            (Tanaka et al. 2020; the log keeps it finite; NASLib stores the same log, without the ``1 +``)
``nwot``    ``log det(K + I)`` with ``K[i, j]`` the number of ReLU units on which samples ``i`` and ``j`` of a
            random batch agree (both active or both inactive) (Mellor et al. 2021; the ridge keeps cells whose
            ReLUs never see a signal finite: their ``K`` has rank one)
``snip``    ``sum |w * dL/dw|`` over the weights, ``L`` the cross-entropy of random labels (Lee et al. 2019)
``grad_norm`` ``sum`` over weight tensors of ``||dL/dw||_2`` (Abdelfattah et al. 2021)
==========  ====================================================================================================

Values are cached on disk per space, proxy and network configuration (and device type, for values not computed on
the CPU) under ``$FGP_CACHE/proxies`` (default ``~/.cache/fgp``), keyed by the exact graph (ops and edges in node
order), so a proxy is computed once per architecture and reused by every later call; interrupted runs resume where
they stopped. A NaN or infinite value is an error, never cached. The package ships the values of the default proxies
behind FGP's ``L_aux`` (NB201 snip and grad_norm, NB101 snip and grad_norm on 16-channel stems;
``fgp/proxy_values``, computed here with seed 0 on CPU, and read on any device): computing them took 37-52 minutes
per space on one CPU thread here.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fgp.graph import ArchGraph
from fgp.io import cache_root, write_atomic
from fgp.networks import NetworkFamily, as_graph, get_family, measure_flops
from fgp.progress import progress_bar
from fgp.validation import torch_device

SHIPPED_VALUES = Path(__file__).resolve().parent / "proxy_values"  # read-only, laid out like the cache's proxies/
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Proxy:
    """A registered proxy. ``kind`` says how it is computed: ``"count"`` from the graphs alone (vectorised),
    ``"network"`` per architecture on its built network. ``version`` is part of the cache key: bump it when the
    definition changes."""

    name: str
    kind: str
    description: str
    version: int = 1
    batch_dependent: bool = True  # whether batch_size changes its value (not for counts and synflow)


_PROXIES: dict[str, Proxy] = {}


def _register(proxy: Proxy) -> None:
    if proxy.name in _PROXIES:
        raise ValueError(f"proxy {proxy.name!r} is already registered")
    _PROXIES[proxy.name] = proxy


for _p in (
    Proxy("params", "count", "trainable parameters", batch_dependent=False),
    Proxy("flops", "count", "conv + linear multiply-accumulates per sample", batch_dependent=False),
    Proxy("synflow", "network", "log(1 + synaptic flow) of the positive, BN-free network", batch_dependent=False),
    Proxy("nwot", "network", "log det of the ReLU activation-pattern agreement kernel"),
    Proxy("snip", "network", "sum |w * dL/dw| for random labels"),
    Proxy("grad_norm", "network", "sum of per-weight-tensor gradient norms for random labels"),
):
    _register(_p)


def list_proxies() -> list[str]:
    """Names of the registered proxies."""
    return list(_PROXIES)


def get_proxy(name: str) -> Proxy:
    if name not in _PROXIES:
        raise ValueError(f"unknown proxy {name!r}; choose from {list_proxies()}")
    return _PROXIES[name]


def graph_key(graph: ArchGraph) -> str:
    """Cache key of one architecture: exact ops and edges in node order (NB101's channel split depends on it), and
    its node attributes where it has them (a traced model's widths and strides)."""
    key = (graph.ops, graph.edges) if graph.attrs is None else (graph.ops, graph.edges, graph.attrs.tolist())
    return hashlib.md5(repr(key).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# per-architecture computations


@contextmanager
def _seeded(seed: int):
    """Seed torch's global generator (network initialisation) without disturbing the caller's state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _weights(net: nn.Module) -> list[nn.Parameter]:
    """The weight tensors the gradient proxies sum over: convolution kernels and matrices (``ndim >= 2``)."""
    return [p for p in net.parameters() if p.requires_grad and p.dim() >= 2]


@dataclass
class _Setup:
    family: NetworkFamily
    cfg: dict[str, Any]
    seed: int
    batch_size: int
    device: torch.device
    closed_forms: bool = True  # the space's closed-form counts describe its default network only

    def build(self, graph: ArchGraph, bn: bool) -> nn.Module:
        with _seeded(self.seed):
            net = self.family.build(graph, bn=bn, **self.cfg)
        return net.to(self.device)

    def inputs(self, tag: str, ones: bool = False, dtype: torch.dtype = torch.float32,
               batch_size: int | None = None) -> tuple[torch.Tensor, ...]:
        gen = torch.Generator().manual_seed(_derive(self.seed, tag))
        n = self.batch_size if batch_size is None else batch_size
        kw = self.family.input_kwargs(self.cfg)
        args = self.family.example_input(n, gen, ones=ones, dtype=dtype, **kw)
        return tuple(a.to(self.device) for a in args)

    def targets(self, num_outputs: int, num_rows: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(_derive(self.seed, "targets"))
        return torch.randint(0, num_outputs, (num_rows,), generator=gen).to(self.device)


def _derive(seed: int, tag: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{tag}".encode()).digest()[:7], "little")


def synflow_score(net: nn.Module, inputs: Sequence[torch.Tensor]) -> float:
    """``log(1 + sum |w * dR/dw|)`` of ``net`` (modified in place: float64, absolute parameters)."""
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad(set_to_none=True)
    out = net(*[x.double() if x.is_floating_point() else x for x in inputs])
    out.sum().backward()
    total = torch.zeros((), dtype=torch.float64, device=out.device)
    with torch.no_grad():
        for w in _weights(net):
            if w.grad is not None:
                total += (w * w.grad).abs().sum()
    return float(torch.log1p(total))


def nwot_score(net: nn.Module, inputs: Sequence[torch.Tensor]) -> float:
    """``log det(K + I)`` of the ReLU agreement kernel over the rows of the batch (samples, or graph nodes)."""
    kernel: list[torch.Tensor] = []
    rows = inputs[0].shape[0]

    def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        if out.shape[0] != rows:  # e.g. ARMAConv's ReLU acts on (stacks, nodes, features)
            axes = [d for d in range(out.dim()) if out.shape[d] == rows]
            if not axes:
                return
            out = out.movedim(axes[0], 0)
        # agreements = both active + both inactive = units - a_i - a_j + 2 <c_i, c_j>; float32 products of 0/1
        # codes are exact integers (far below 2**24 units per layer), the running sum is float64
        codes = (out.detach().flatten(1) > 0).to(torch.float32)
        active = codes.sum(1, dtype=torch.float64)
        k = 2.0 * (codes @ codes.T).double() + (codes.shape[1] - active[:, None] - active[None, :])
        if kernel:
            kernel[0] += k
        else:
            kernel.append(k)

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(*inputs)
    finally:
        for h in handles:
            h.remove()
    k = kernel[0] if kernel else torch.zeros(rows, rows, dtype=torch.float64, device=inputs[0].device)
    k = k + torch.eye(rows, dtype=torch.float64, device=k.device)
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet)


def gradient_scores(net: nn.Module, inputs: Sequence[torch.Tensor], targets: torch.Tensor) -> dict[str, float]:
    """snip and grad_norm from one backward pass of the cross-entropy of ``targets``."""
    net.zero_grad(set_to_none=True)
    out = net(*inputs)
    nn.functional.cross_entropy(out, targets).backward()
    snip = torch.zeros((), dtype=torch.float64, device=out.device)
    norm = torch.zeros((), dtype=torch.float64, device=out.device)
    with torch.no_grad():
        for w in _weights(net):
            if w.grad is not None:
                snip += (w * w.grad).abs().sum().double()
                norm += w.grad.norm().double()
    return {"snip": float(snip), "grad_norm": float(norm)}


def _network_proxies(setup: _Setup, graph: ArchGraph, names: Sequence[str], shared: dict[str, Any]) -> dict[str, float]:
    """All requested network proxies of one architecture (one BN network shared by nwot / snip / grad_norm)."""
    values: dict[str, float] = {}
    if "synflow" in names:
        values["synflow"] = synflow_score(setup.build(graph, bn=False), shared["ones"])
    rest = [n for n in names if n != "synflow"]
    if rest:
        net = setup.build(graph, bn=True).train()
        if "nwot" in rest:
            values["nwot"] = nwot_score(net, shared["batch"])
        if "snip" in rest or "grad_norm" in rest:
            if "targets" not in shared:
                with torch.no_grad():
                    num_out = net(*shared["batch"]).shape[1]
                shared["targets"] = setup.targets(num_out, shared["batch"][0].shape[0])
            values.update({k: v for k, v in gradient_scores(net, shared["batch"], shared["targets"]).items()
                           if k in rest})
    return values


def _check_network_options(setup: _Setup, graph: ArchGraph, options: Mapping[str, Any]) -> None:
    """Build one network with ``options`` and run it on two samples, so that a misspelt option or a value the
    network cannot work with (no channels, no classes, an input too small to downsample) fails before hours of
    scoring, as an error naming the options rather than a torch error."""
    problem = None
    try:
        net = setup.build(graph, bn=True).train()
        with torch.no_grad():
            out = net(*setup.inputs("check", batch_size=2))
        if out.numel() == 0:
            problem = f"the network's output is empty, shape {tuple(out.shape)}"
    except (TypeError, ValueError, RuntimeError, ArithmeticError, LookupError) as exc:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if problem is not None:
        raise ValueError(f"network options {dict(options)} are not accepted by the {setup.family.space} network "
                         f"builder ({problem})")


def _count_proxy(setup: _Setup, name: str, graphs: Sequence[ArchGraph]) -> np.ndarray:
    fam = setup.family
    fn = (fam.param_counts if name == "params" else fam.flop_counts) if setup.closed_forms else None
    if fn is not None:
        return np.asarray(fn(graphs, **setup.cfg), dtype=np.float64)
    out = np.empty(len(graphs), dtype=np.float64)
    for i, g in enumerate(graphs):
        net = setup.build(g, bn=True)
        if name == "params":
            out[i] = sum(p.numel() for p in net.parameters() if p.requires_grad)
        else:
            out[i] = measure_flops(net.eval(), *setup.inputs("flops", batch_size=1))
    return out


# ---------------------------------------------------------------------------------------------------------------
# cache


class _Cache:
    """One proxy's values for one (space, dataset, configuration): ``keys`` and ``values`` in an .npz file, over the
    values shipped with the package for the same configuration (``shipped``), if any."""

    def __init__(self, path: Path | None, shipped: Path | None = None):
        self.path = path
        self.table: dict[str, float] = {}
        self.dirty = 0
        for source, fix in ((shipped, "reinstall fgp"), (path, "delete it to recompute")):
            if source is not None and source.is_file():
                try:
                    with np.load(source, allow_pickle=False) as z:
                        pairs = zip(z["keys"].astype("U32").tolist(), z["values"].tolist())
                        # a non-finite value cached before values were checked is recomputed, not reused
                        self.table.update((k, v) for k, v in pairs if np.isfinite(v))
                except (OSError, ValueError, KeyError) as exc:
                    raise ValueError(f"proxy cache {source} is unreadable ({exc}); {fix}") from exc

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.table), dtype="S32")  # md5 hex digests are ASCII
        values = np.array(list(self.table.values()), dtype=np.float64)
        write_atomic(self.path, lambda fh: np.savez(fh, keys=keys, values=values))
        self.dirty = 0


def _cache_paths(user_folder: Path | None, space: str, proxy: Proxy, setup: _Setup) -> tuple[Path | None, Path | None]:
    """The user's cache file of ``proxy`` under ``setup`` and the shipped file read beneath it (None without a cache).

    Values computed on another device than the CPU differ in the last digits, so they get their own user files
    (the device type is added to the key, which leaves every CPU key as it was); the shipped values, computed on
    the CPU, are the reference and are read on any device.
    """
    if user_folder is None:
        return None, None
    config = {"seed": setup.seed, **setup.cfg}
    if proxy.batch_dependent:
        config["batch_size"] = setup.batch_size
    shipped = _cache_path(SHIPPED_VALUES, space, proxy, config)
    if setup.device.type != "cpu":
        config["device"] = setup.device.type
    return _cache_path(user_folder, space, proxy, config), shipped


def _cache_path(folder: Path, space: str, proxy: Proxy, config: dict[str, Any]) -> Path:
    """``folder/<space>/<proxy>-v<version>-<fingerprint>.npz``."""
    # the network configuration (classes, resolution, NAS-Bench-Graph dataset), not the benchmark table, decides
    # the values: tables that share a configuration share the cache
    fingerprint = hashlib.md5(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]
    return folder / space / f"{proxy.name}-v{proxy.version}-{fingerprint}.npz"


# ---------------------------------------------------------------------------------------------------------------
# public entry point


def _check_finite(
    name: str, values: Mapping[str, float], graphs: Sequence[ArchGraph], first: Mapping[str, int]
) -> None:
    """Refuse NaN / infinite values (keyed by graph key) before they are cached, naming the architecture(s)."""
    bad = [k for k, v in values.items() if not np.isfinite(v)]
    if bad:
        shown = "; ".join(f"architecture {first[k]} {graphs[first[k]]!r} gives {values[k]}" for k in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise ValueError(f"proxy {name} is not finite for {len(bad)} architecture(s): {shown}{more}; "
                         "nothing non-finite is cached")


def _as_graphs(space: str, archs: Any) -> list[ArchGraph]:
    if getattr(archs, "space_options", None) and getattr(archs, "natives", None) is not None:
        # a benchmark in another graph representation (e.g. NB201 pruned): a proxy scores the architecture's
        # network, which is built from the space's default graph of it
        return [as_graph(space, a) for a in archs.natives]
    graphs = getattr(archs, "graphs", archs)
    if isinstance(graphs, ArchGraph):
        raise ValueError("archs must be a sequence of architectures (or a Benchmark), not a single ArchGraph")
    return [as_graph(space, a) for a in graphs]


def compute_proxies(
    space: str,
    archs: Any,
    names: str | Sequence[str],
    dataset: str | None = None,
    progress: bool = True,
    *,
    seed: int = DEFAULT_SEED,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    save_every: float = 60.0,
    network: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Proxy values of every architecture of ``archs`` (a Benchmark, ArchGraphs or native encodings).

    Returns ``{name: float64 array aligned with archs}``. Values come from the on-disk cache where present and
    are computed (then cached) otherwise; ``cache=False`` neither reads nor writes it. ``batch_size`` is the
    number of random samples (graph nodes for NAS-Bench-Graph) nwot / snip / grad_norm see (default: the
    space's, 16 images or a 64-node graph). ``device`` defaults to CUDA when available. ``network`` overrides
    options of the space's network builder (e.g. ``{"stem_channels": 16}`` on NB101, ``{"channels": 8}`` on NB201):
    a narrower network is much cheaper to score, at some loss of agreement with the benchmark's own network; the
    options are part of the cache key.
    """
    names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    if not names or any(not n for n in names):
        raise ValueError("no proxy named; choose from " + ", ".join(list_proxies()))
    proxies = [get_proxy(n) for n in names]
    family = get_family(space)
    if dataset is None:
        dataset = getattr(archs, "dataset", None)
    cfg = family.config(dataset)
    overrides = dict(network or {})
    cfg.update(overrides)
    graphs = _as_graphs(space, archs)
    batch = int(batch_size or family.default_batch)
    if batch < 2:
        raise ValueError(f"batch_size must be at least 2, got {batch}")
    setup = _Setup(family, cfg, int(seed), batch, torch_device(device), closed_forms=not overrides)
    if overrides and graphs:
        _check_network_options(setup, graphs[0], overrides)
    root = (Path(cache_dir).expanduser() if cache_dir is not None else cache_root()) if cache else None
    user_folder = None if root is None else root / "proxies"

    keys = [graph_key(g) for g in graphs]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    caches = {p.name: _Cache(*_cache_paths(user_folder, space, p, setup)) for p in proxies}

    for p in proxies:
        if p.kind != "count":
            continue
        todo = [k for k in first if k not in caches[p.name].table]
        if todo:
            vals = _count_proxy(setup, p.name, [graphs[first[k]] for k in todo])
            _check_finite(p.name, dict(zip(todo, vals.tolist())), graphs, first)
            caches[p.name].table.update(zip(todo, vals.tolist()))
            caches[p.name].dirty += len(todo)
            caches[p.name].save()

    net_names = [p.name for p in proxies if p.kind == "network"]
    todo_keys = [k for k in first if any(k not in caches[n].table for n in net_names)]
    if todo_keys:
        shared: dict[str, Any] = {
            "ones": setup.inputs("ones", ones=True, dtype=torch.float64, batch_size=1),
            "batch": setup.inputs("batch"),
        }
        bar = progress_bar(len(todo_keys), unit="arch", desc=f"{space} {'+'.join(net_names)}", enabled=progress)
        last_save = time.monotonic()
        try:
            for k in todo_keys:
                missing = [n for n in net_names if k not in caches[n].table]
                vals = _network_proxies(setup, graphs[first[k]], missing, shared)
                for n, v in vals.items():
                    _check_finite(n, {k: v}, graphs, first)
                for n, v in vals.items():
                    caches[n].table[k] = v
                    caches[n].dirty += 1
                bar.update(1)
                if time.monotonic() - last_save > save_every:
                    for c in caches.values():
                        c.save()
                    last_save = time.monotonic()
        finally:
            for c in caches.values():
                c.save()
            bar.close()
    return {n: np.array([caches[n].table[k] for k in keys], dtype=np.float64) for n in names}


__all__ = [
    "Proxy",
    "compute_proxies",
    "get_proxy",
    "graph_key",
    "gradient_scores",
    "list_proxies",
    "nwot_score",
    "synflow_score",
]
