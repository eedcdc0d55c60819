"""Stage progress as plain lines on the terminal, with a time estimate.

A stage that trains for minutes or hours says how far it is: "DRAEM synth_fabric (mixed):
epoch 6/25, 31 s so far, about 1 min 38 s left, loss 0.412". `say` writes a line to the
notebook's output (sys.stderr, in a kernel) and to file descriptor 2, the terminal's:
papermill's `asal` engine starts kernels that write descriptor 2 straight to the terminal
(asal/notebook_engine.py), so a person running `papermill --engine asal` or the workflow
sees every line, the last one of a run too, and the stored notebook keeps it. Under a
kernel that reads descriptor 2 itself and copies it into the notebook (ipykernel's
default), the line goes to descriptor 2 only, so that it is not shown twice. Plain lines,
not a redrawn bar (tqdm's carriage returns become a dozen red lines in an exported
notebook): the first step, then at most one line every `every` seconds, and the last.
"""

from __future__ import annotations

import os
import sys
import time


def duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 2 h 07 min."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def say(line: str) -> None:
    """One line to the terminal (and, in a kernel, to the notebook's output)."""
    sys.stdout.flush()
    stream = sys.stderr
    in_kernel = type(stream).__module__.startswith("ipykernel")
    if in_kernel and not getattr(stream, "_should_watch", False):
        print(line, file=stream, flush=True)          # descriptor 2 is not copied there
    try:
        os.write(2, (line + "\n").encode())
    except OSError:                  # no usable descriptor 2 (a closed or odd stream)
        if not in_kernel:
            print(line, file=stream)


class Progress:
    """`update(done, loss=...)` after each step of `total`; steps before `start` were done
    by an earlier, resumed run and do not count toward the estimate. `start=None`: the
    first update's step is the first of this process (a resume found inside the stage)."""

    def __init__(self, what: str, total: int, unit: str, start: int | None = 0,
                 enabled: bool = True, every: float = 10.0):
        self.what, self.total, self.unit, self.start = what, total, unit, start
        self.enabled, self.every = enabled and total > (start or 0), every
        self.began = self.last = time.perf_counter()
        self.first = True

    def line(self, done: int, now: float, **extra) -> str:
        spent = now - self.began
        rate = spent / max(done - self.start, 1)
        left = rate * (self.total - done)
        parts = [f"{self.unit} {done}/{self.total}", f"{duration(spent)} so far"]
        parts.append("done" if done >= self.total else f"about {duration(left)} left")
        parts += [f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                  for k, v in extra.items()]
        return f"{self.what}: " + ", ".join(parts)

    def update(self, done: int, **extra) -> None:
        now = time.perf_counter()
        if not self.enabled:
            return
        if self.start is None:
            self.start = done - 1
        if self.first or done >= self.total or now - self.last >= self.every:
            say(self.line(done, now, **extra))
            self.first, self.last = False, now
