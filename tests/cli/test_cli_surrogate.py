import numpy as np
import pytest

from fgp.cli import main
from fgp.cli.surrogate import SAVED_KEYS


def test_help_names_every_saved_key_and_every_space(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as exc:
        main(["surrogate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert ("(keys surrogate, r, P, W, alpha, ops, index, space, dataset, seed, k, std, rounds, forward, backward)"
            in out)
    assert "--space SPACE      search space: nb201, nb101, nbgraph, tnb101_macro\n" in out
    path = tmp_path / "s.npz"
    assert main(["surrogate", "--space", "nbgraph", "--dataset", "proteins", "--k", "3", "--out", str(path)]) == 0
    with np.load(path) as z:
        assert tuple(z.files) == SAVED_KEYS
