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


# traced models of several sizes ---------------------------------------------------------------------------------


class _TwoInTwoOut(torch.nn.Module):
    """Two inputs, two outputs: an image branch and a feature branch that meet in one sum."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(6, 4)

    def forward(self, image, features):
        a = self.pool(torch.relu(self.conv(image))).flatten(1)
        b = torch.sigmoid(self.fc(features))
        return a + b, b


class _ResidualCNN(torch.nn.Module):
    def __init__(self, blocks: int):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.BatchNorm2d(8),
                                torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 1)) for _ in range(blocks))
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x.mean((2, 3)))


def deep_mlp(layers: int) -> torch.nn.Module:
    return torch.nn.Sequential(*[m for _ in range(layers) for m in (torch.nn.Linear(4, 4), torch.nn.ReLU())])


@pytest.fixture(scope="session")
def traced_graphs():
    """Traced models from 5 to 302 nodes (one with two inputs and two outputs), over one vocabulary, with node
    attributes: what a batch of "your own architectures" looks like."""
    from fgp.models import from_torch

    torch.manual_seed(0)
    models = [
        (torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)), (2, 8)),
        (_TwoInTwoOut(), [(2, 3, 8, 8), (2, 6)]),
        (_ResidualCNN(1), (2, 3, 8, 8)),
        (_ResidualCNN(6), (2, 3, 8, 8)),
        (deep_mlp(150), (2, 4)),
    ]
    return [from_torch(model, inputs) for model, inputs in models]


@pytest.fixture(scope="session")
def deep_traced_graph():
    """A 600-layer MLP: 1,202 nodes in 1,202 generations."""
    from fgp.models import from_torch

    return from_torch(deep_mlp(600), (2, 4))
