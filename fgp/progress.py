"""Progress bars that suit where they are shown: a live bar on a terminal, an occasional line in a log file.

tqdm redraws a bar up to ten times a second. On a terminal that is a bar that moves; in a file (a CI log, ``nohup``,
``2> run.log``) every redraw is kept, so a 20-second ``fgp run`` wrote 900 of them. Off a terminal the bar redraws
at most every :data:`LOG_INTERVAL_S` seconds, and live details (the epoch of a run) never force a redraw.
"""

from __future__ import annotations

import sys
from typing import Any

#: Seconds between two redraws of a bar whose stream is not a terminal.
LOG_INTERVAL_S = 30.0
#: Seconds between two redraws on a terminal (tqdm's default).
TERMINAL_INTERVAL_S = 0.1


def progress_bar(total: int, unit: str, desc: str | None = None, enabled: bool = True):
    """A tqdm bar on stderr that redraws at most every 0.1 s on a terminal and every 30 s elsewhere."""
    from tqdm.auto import tqdm

    interval = TERMINAL_INTERVAL_S if sys.stderr.isatty() else LOG_INTERVAL_S
    # miniters=0: the interval alone decides (tqdm's adaptive miniters would skip the redraws of show_details)
    return tqdm(total=total, unit=unit, desc=desc, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                mininterval=interval, miniters=0)


def show_details(bar, **fields) -> None:
    """Set the bar's postfix (e.g. the epoch) and redraw only if the bar's interval has passed."""
    bar.set_postfix(refresh=False, **fields)
    bar.update(0)


class StageBars:
    """One bar per stage of ``fit`` (pre-training, fine-tuning), each counting its own epochs, so its ETA comes
    from epochs of one kind (a pre-training epoch over the whole space costs far more than a fine-tuning one)."""

    def __init__(self, totals: dict[str, int | None]):
        self.totals = totals
        self.bars: dict[str, Any] = {}

    def update(self, stage: str, epoch: int, record: dict) -> None:
        if stage not in self.bars:
            self.bars[stage] = progress_bar(self.totals.get(stage), unit="epoch", desc=stage)
        self.bars[stage].update(1)

    def close(self, stage: str | None = None, note: str | None = None) -> None:
        if note is not None:
            print(f"{stage}: {note}", file=sys.stderr)
        for name in [stage] if stage is not None else list(self.bars):
            bar = self.bars.pop(name, None)
            if bar is not None:
                bar.close()
