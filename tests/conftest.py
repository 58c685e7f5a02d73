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
