import json

import numpy as np
import pytest

from fgp.cli import main


def test_data_info_json(capsys):
    assert main(["data", "info", "--space", "nbgraph", "--dataset", "proteins", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["space"] == "nbgraph" and info["dataset"] == "proteins" and info["count"] == 2_021
    assert info["default_label"] == "perf" and info["other_columns"] == ["latency", "params"]
    assert info["op_vocabulary"] == ["input", "output", "gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc",
                                     "skip"]
    # the extreme test and validation accuracies of the 2,021 PROTEINS architectures
    assert info["labels"] == {
        "perf": {"min": pytest.approx(0.6696767, abs=1e-7), "max": pytest.approx(0.7926337, abs=1e-7), "missing": 0},
        "valid_perf": {"min": pytest.approx(0.731, abs=1e-9), "max": pytest.approx(0.8533333, abs=1e-7), "missing": 0},
    }


@pytest.mark.data
def test_data_info_text(capsys):
    assert main(["data", "info", "--space", "nb201"]) == 0
    out = capsys.readouterr().out
    assert "15,625 architectures" in out and "c10_test_acc_200 (default)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "info", "--space", "nope"], "unknown search space 'nope'"),
        (["data", "info", "--space", "nbgraph", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    ],
)
def test_bad_values_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_argument_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "info"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: --space" in err and len(err.strip().splitlines()) == 1


def test_missing_data_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("FGP_DATA", str(tmp_path / "nowhere"))
    assert main(["data", "info", "--space", "nb101"]) == 2
    err = capsys.readouterr().err
    assert "FGP_DATA" in err and "nb101_val_30k.jsonl.gz" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["data", "info"], ["surrogate"], ["experiment"]])
def test_space_help_lists_every_space_with_benchmark_data(monkeypatch, capsys, command):
    """The help text is written out (building the space registry would import torch, and `fgp --help` must be
    fast), so this keeps it true."""
    from fgp.datasets import benchmark_spaces

    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("--space SPACE"))
    assert line.split(": ", 1)[1] == ", ".join(benchmark_spaces())


def test_a_label_without_any_finite_value_prints_n_a(monkeypatch, capsys):
    import fgp.datasets
    from fgp.datasets import load_benchmark

    bench = load_benchmark("nbgraph", "proteins")
    bench.columns["valid_perf"] = np.full(len(bench), np.nan)
    monkeypatch.setattr(fgp.datasets, "load_benchmark", lambda space, dataset: bench)
    assert main(["data", "info", "--space", "nbgraph", "--dataset", "proteins"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[3] == "label valid_perf: n/a, 2021 missing"
    assert out[2].startswith("label perf (default): 0.66")
    assert main(["data", "info", "--space", "nbgraph", "--dataset", "proteins", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["labels"]["valid_perf"] == {"min": None, "max": None, "missing": 2021}


def test_proxies_help_names_every_registered_proxy(monkeypatch, capsys):
    from fgp.proxies import list_proxies

    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit):
        main(["proxies", "--help"])
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("--proxy PROXY"))
    assert line.split(": ", 1)[1] == ", ".join(list_proxies())


def test_help_is_fast_and_imports_no_torch():
    """`fgp --help` answers in well under a second: the commands import their work only when they run."""
    import subprocess
    import sys
    import time

    code = "import sys; from fgp.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False" and time.perf_counter() - start < 5  # about 0.2 s here; generous for CI load
