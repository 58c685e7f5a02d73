from pathlib import Path

import numpy as np
import pytest

from fgp.cli import main
from fgp.cli.surrogate import SAVED_KEYS
from fgp.datasets import load_benchmark
from fgp.surrogate import flow_surrogate


def test_help_names_every_saved_key_and_every_space(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as exc:
        main(["surrogate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    keys = "surrogate, r, P, W, alpha, ops, index, space, dataset, seed, k, std, draws, rounds, forward, backward"
    assert f"(keys {keys})" in out


@pytest.mark.parametrize(
    "flags, switches",
    [([], {}), (["--no-forward", "--rounds", "2"], {"forward": False, "rounds": 2}),
     (["--no-backward", "--seed", "3"], {"backward": False, "seed": 3})],
)
def test_saves_the_surrogates_of_the_library_with_their_draws_and_settings(flags, switches, tmp_path):
    path = tmp_path / "s.npz"
    assert main(["surrogate", "--space", "nbgraph", "--dataset", "proteins", "--k", "3", "--out", str(path),
                 *flags]) == 0
    bench = load_benchmark("nbgraph", "proteins")
    settings = {"seed": 0, "rounds": 1, "forward": True, "backward": True, **switches}
    expected, draws = flow_surrogate(bench.batch(), space="nbgraph", k=3, **settings)
    with np.load(path) as z:
        assert tuple(z.files) == SAVED_KEYS
        assert z["surrogate"].dtype == np.float32 and z["surrogate"].shape == (2_021, 3)
        np.testing.assert_array_equal(z["surrogate"], expected.numpy())
        for name in ("r", "P", "W"):
            np.testing.assert_array_equal(z[name], getattr(draws, name))
        np.testing.assert_array_equal(z["index"], bench.index)
        assert z["ops"].tolist() == list(bench.vocab)
        assert (str(z["space"]), str(z["dataset"])) == ("nbgraph", "proteins")
        assert (int(z["k"]), float(z["std"]), float(z["alpha"])) == (3, 0.1, 0.5)  # std: nbgraph's constant
        assert {name: z[name].item() for name in settings} == settings
    if switches:  # the ablation changes the numbers
        paper = flow_surrogate(bench.batch(), space="nbgraph", k=3, seed=settings["seed"])[0].numpy()
        assert not np.allclose(expected.numpy(), paper)


def test_plot_and_out_the_same_file_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "s.npz"
    argv = ["surrogate", "--space", "nbgraph", "--dataset", "proteins", "--out", str(path)]
    assert main([*argv, "--plot", str(tmp_path / "." / "s.npz")]) == 2
    err = capsys.readouterr().err
    assert "--plot and --out must be different files" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not path.exists()


def test_plot_without_the_plot_extra_names_it_before_any_work(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    out = tmp_path / "s.npz"
    assert main(["surrogate", "--space", "nbgraph", "--dataset", "proteins", "--out", str(out),
                 "--plot", str(tmp_path / "p.png")]) == 2
    assert capsys.readouterr().err == "fgp: error: --plot needs matplotlib: pip install 'fgp[plot]'\n"
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--k", "1000000"], "for 2,021 architectures needs about 7.73e+03 GB of memory; this machine has"),
    (["--draws", "100000"], "needs about 446 GB of memory"),
    (["--rounds", "1000000000"], "would take about 6.9e+03 hours and 4.57 MB of memory, above the limits of 1 hours "
                                 "and 8 GB; pass --force to run it"),
    (["--seed", "-1"], "--seed must be an integer in [0, 2**32), got -1"),
    (["--seed", "99999999999999999999"], "--seed must be an integer in [0, 2**32)"),
    (["--seed", "4294967295", "--draws", "2"], "--seed + --draws must stay below 2**32"),
])
def test_requests_out_of_range_or_too_large_are_refused_before_any_work(tmp_path, capsys, args, message):
    out = tmp_path / "s.npz"
    assert main(["surrogate", "--space", "nbgraph", "--dataset", "proteins", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("fgp: error") == 1 and "computed" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a file system that refuses new files (/proc)")
def test_an_output_that_cannot_be_written_is_found_before_the_computation(capsys):
    assert main(["surrogate", "--space", "nbgraph", "--dataset", "proteins", "--out", "/proc/fgp-s.npz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fgp: error: /proc/fgp-s.npz cannot be written") and "computed" not in err
