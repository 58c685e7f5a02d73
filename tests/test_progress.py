import io
import sys
import time

from fgp.progress import LOG_INTERVAL_S, TERMINAL_INTERVAL_S, progress_bar, show_details


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def frames(text: str) -> list[str]:
    return [f for f in text.replace("\n", "\r").split("\r") if f.strip()]


def test_off_a_terminal_details_never_force_a_redraw(capsys):
    assert LOG_INTERVAL_S >= 10  # the test below runs far inside one interval
    bar = progress_bar(2, unit="run", desc="grid")
    for epoch in range(500):
        show_details(bar, stage="finetune", epoch=epoch)
    bar.update(2)
    bar.close()
    shown = frames(capsys.readouterr().err)
    assert len(shown) <= 2  # the first draw and the last
    assert "2/2" in shown[-1] and "epoch=499" in shown[-1]


def test_on_a_terminal_details_redraw_at_most_every_tenth_of_a_second(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = progress_bar(1, unit="run")
    start = time.perf_counter()
    for epoch in range(2000):
        show_details(bar, epoch=epoch)
    elapsed = time.perf_counter() - start
    assert len(frames(terminal.getvalue())) <= 2 + elapsed / TERMINAL_INTERVAL_S
    time.sleep(1.5 * TERMINAL_INTERVAL_S)
    show_details(bar, epoch="last")
    assert "epoch=last" in frames(terminal.getvalue())[-1]
    bar.close()


def test_disabled_bar_writes_nothing(capsys):
    bar = progress_bar(3, unit="arch", enabled=False)
    show_details(bar, epoch=1)
    bar.update(3)
    bar.close()
    assert capsys.readouterr().err == ""
