"""Output files: checked before any work, written atomically, and the cache folder."""

from pathlib import Path

import pytest

from fgp.cli import main
from fgp.io import cache_root, check_output, write_atomic


def test_check_output_refuses_a_directory_always_a_file_without_force_and_a_missing_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"^{tmp_path} is a directory, not an output file$"):
        check_output(tmp_path, force=True)  # --force replaces files, never a directory
    existing = tmp_path / "x.npz"
    existing.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match=f"^{existing} exists; pass --force to overwrite it$"):
        check_output(existing, force=False)
    assert check_output(str(existing), force=True) == existing
    new = tmp_path / "new.npz"
    assert check_output(new, force=False) == new
    missing = tmp_path / "missing" / "x.npz"
    with pytest.raises(FileNotFoundError, match=f"^the folder of {missing} does not exist$"):
        check_output(missing, force=True)
    assert existing.read_bytes() == b"mine" and sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]


def test_write_atomic_replaces_the_file_only_when_complete(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"before")

    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(path, fail)
    assert path.read_bytes() == b"before" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    write_atomic(path, lambda fh: fh.write(b"after"))
    assert path.read_bytes() == b"after" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_concurrent_writes_of_one_path_do_not_share_a_temporary_file(tmp_path):
    """A second writer starts and finishes while the first is writing: each has its own temporary file, so both
    succeed and the file is the complete output of the last to finish."""
    path = tmp_path / "model.pt"

    def outer(fh):
        fh.write(b"outer ")
        write_atomic(path, lambda inner: inner.write(b"inner"))
        assert path.read_bytes() == b"inner"
        fh.write(b"done")

    write_atomic(path, outer)
    assert path.read_bytes() == b"outer done" and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_write_atomic_gives_the_permissions_of_a_plain_write(tmp_path):
    plain, atomic = tmp_path / "plain", tmp_path / "atomic"
    plain.write_bytes(b"x")
    write_atomic(atomic, lambda fh: fh.write(b"x"))
    assert atomic.stat().st_mode == plain.stat().st_mode


def test_cache_root_is_fgp_cache_or_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGP_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.setenv("FGP_CACHE", "~/elsewhere")
    assert cache_root() == Path.home() / "elsewhere"
    for unset in (monkeypatch.delenv, lambda name: monkeypatch.setenv(name, "")):
        unset("FGP_CACHE")
        assert cache_root() == Path.home() / ".cache" / "fgp"


def test_the_pretrain_cache_lives_under_cache_root(tmp_path, monkeypatch):
    from fgp.pretrain.base import cache_dir

    monkeypatch.setenv("FGP_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path / "pretrain"


@pytest.mark.parametrize(
    "argv",
    [
        ["surrogate", "--space", "nb201", "--out", "DIR"],
        ["surrogate", "--space", "nb201", "--out", "TMP/s.npz", "--plot", "DIR"],
        ["proxies", "--space", "nb201", "--proxy", "params", "--out", "DIR"],
    ],
)
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_cli_never_replaces_a_directory_even_with_force(tmp_path, capsys, argv, force):
    folder = tmp_path / "d"
    folder.mkdir()
    argv = [a.replace("DIR", str(folder)).replace("TMP", str(tmp_path)) for a in argv]
    assert main(argv + force) == 2
    assert capsys.readouterr().err == f"fgp: error: {folder} is a directory, not an output file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["d"] and not any(folder.iterdir())
