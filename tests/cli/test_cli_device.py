import pytest
import torch

from fgp.cli import main


@pytest.mark.parametrize("command", [["experiment", "--space", "nbgraph"], ["run"]])
def test_a_device_that_is_not_there_exits_2_before_any_run(command, tmp_path, monkeypatch, capsys):
    out = tmp_path / "r.jsonl"
    assert main([*command, "--device", "gpu", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "fgp: error: --device 'gpu' is not a torch device; use cpu, cuda or cuda:N\n"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([*command, "--device", "cuda", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "fgp: error: --device 'cuda': CUDA is not available on this machine\n"
    assert not out.exists()
