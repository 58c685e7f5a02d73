"""Proxies of a module: the benchmark's parameter and FLOP counts, fgp.proxies' values, the module left alone."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fgp.models import MODULE_PROXIES, count_flops, module_proxies
from fgp.networks import build_network, get_family
from fgp.proxies import compute_proxies
from fgp.spaces import get_space


@pytest.mark.data
def test_parameter_counts_match_the_nb201_table():
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nb201")
    for row in range(3):
        net = build_network("nb201", bench.natives[row])
        assert module_proxies(net, (2, 3, 32, 32), "params") == {"params": bench.columns["params"][row]}


@pytest.mark.data
def test_another_head_matches_naslibs_nb201_parameter_counts_and_flops_the_closed_form():
    import gzip
    import json

    from fgp.paths import data_file

    with gzip.open(data_file("nasbench201/nb201_naslib_zc_subset.jsonl.gz"), "rt") as fh:
        row = json.loads(fh.readline())
    net = build_network("nb201", row["arch_str"], dataset="imagenet16-120")
    values = module_proxies(net, (1, 3, 16, 16), ["params", "flops"])
    assert values["params"] == round(row["in16_zc"]["params"] * 1e6)
    # NASLib's FLOPs count more than convolutions and linear layers; fgp's closed form counts those, like FlopCounter
    graph = get_space("nb201").decode(row["arch_str"])
    assert values["flops"] == get_family("nb201").flop_counts([graph], num_classes=120, resolution=16)[0]


def test_all_proxies_equal_fgp_proxies_on_the_benchmark_network():
    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    graph = get_space("nb201").decode(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # compute_proxies builds its network from seed 0
        net = build_network("nb201", graph, channels=8)
    before = copy.deepcopy(net.state_dict())
    ours = module_proxies(net, (16, 3, 32, 32), device="cpu")
    reference = compute_proxies("nb201", [graph], list(MODULE_PROXIES), network={"channels": 8}, cache=False,
                                progress=False, device="cpu")
    assert list(ours) == list(MODULE_PROXIES)
    for name in MODULE_PROXIES:
        assert ours[name] == pytest.approx(reference[name][0], rel=1e-9), name
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm statistics included
    assert all(p.grad is None for p in net.parameters()) and net.training


def test_flops_count_every_matrix_product_per_sample():
    assert count_flops(nn.Linear(8, 4), [(3, 8)]) == 32
    conv = nn.Conv2d(4, 8, 3, padding=1, groups=2)
    assert count_flops(conv, [(2, 4, 5, 5)]) == 5 * 5 * 8 * 3 * 3 * 2
    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    # in and out projections (4 linear layers over 5 tokens) plus q @ k and attention @ v (5 x 5 x 8 each)
    assert module_proxies(attention, [(2, 5, 8)] * 3, "flops")["flops"] == 4 * 5 * 8 * 8 + 2 * 5 * 5 * 8

    class FusedAttention(nn.Module):  # F.scaled_dot_product_attention (a fused kernel on the CPU)
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    assert count_flops(FusedAttention(), [(2, 3, 5, 8)] * 3) == 2 * 3 * 5 * 5 * 8


def test_tensors_are_used_as_the_batch_and_several_outputs_score_the_first():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(6, 16), nn.ReLU())
            self.head = nn.Linear(16, 3)

        def forward(self, x):
            h = self.body(x)
            return self.head(h), h

    torch.manual_seed(1)
    net = TwoHeads()
    batch = torch.randn(8, 6)
    values = module_proxies(net, batch, ["nwot", "snip", "grad_norm", "synflow"])
    assert all(np.isfinite(v) for v in values.values())
    assert module_proxies(net, batch, "nwot") == {"nwot": values["nwot"]}
    assert module_proxies(net, torch.randn(8, 6), "nwot") != {"nwot": values["nwot"]}


@pytest.mark.parametrize("call, message", [
    (lambda: module_proxies("net", (2, 3)), "module_proxies needs a torch.nn.Module, got str"),
    (lambda: module_proxies(nn.Linear(3, 2), (2, 3), "params,zen"), r"unknown proxy name\(s\) \['zen'\]"),
    (lambda: module_proxies(nn.Linear(3, 2), (2, 3), []), "unknown proxy name"),
    (lambda: module_proxies(nn.Linear(3, 2), (2, 3), "flops", device="gpu7"), "not a torch device"),
    (lambda: module_proxies(nn.Sequential(nn.Linear(3, 1), nn.Flatten(0)), (4, 3), "snip"),
     "snip and grad_norm need an output with a class"),
])
def test_bad_input_is_a_value_error_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()
