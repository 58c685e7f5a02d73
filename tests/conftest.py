import pytest
import torch

from fgp.paths import data_root

# The models under test are small: one intra-op thread is faster than two (which spin against each other and
# against any other process on a 2-core machine) and keeps timings steady.
torch.set_num_threads(1)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow end-to-end checks")


def pytest_collection_modifyitems(config, items):
    root = data_root()
    skip_data = pytest.mark.skip(reason="real benchmark data not found: set FGP_DATA")
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "data" in item.keywords and (root is None or not root.is_dir()):
            item.add_marker(skip_data)
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)


@pytest.fixture
def random_dags():
    """``random_dags(n, seed)``: a batch of ``n`` random legal op DAGs over the vocabulary (input, output, a, b, c):
    1 or 2 inputs, 1-7 op nodes, each with an earlier predecessor and a later successor, some with more; the smallest
    legal graph (input -> output) first. Synthetic architectures of no search space."""
    import numpy as np

    from fgp.batch import GraphBatch
    from fgp.graph import ArchGraph

    vocab = ("input", "output", "a", "b", "c")

    def make(n: int, seed: int = 0) -> GraphBatch:
        rng = np.random.default_rng(seed)
        graphs = [ArchGraph(["input", "output"], [(0, 1)], vocab)]
        while len(graphs) < n:
            inputs, middle = int(rng.integers(1, 3)), int(rng.integers(1, 8))
            ops = ["input"] * inputs + [str(rng.choice(vocab[2:])) for _ in range(middle)] + ["output"]
            out = len(ops) - 1
            edges = {(int(rng.integers(0, v)), v) for v in range(inputs, out)}
            edges |= {(v, int(rng.integers(v + 1, out + 1))) for v in range(inputs, out)}
            edges |= {(int(rng.integers(0, v)), v) for v in range(inputs, out) if rng.random() < 0.4}
            edges |= {(i, int(rng.integers(inputs, out + 1))) for i in range(inputs)}
            graphs.append(ArchGraph(ops, edges, vocab))
        return GraphBatch.from_graphs(graphs)

    return make
