"""Strokes first: a training step waits while a stroke is being answered.

Python runs one thread at a time (the Global Interpreter Lock, GIL). Answering a stroke
takes ~2 ms of Python, cut into ~40 pieces by the calls that let go of the lock (each torch
operation, the PNG decoding). A run training in another thread takes the lock in every
gap, and the stroke then waits for it to come back, up to 5 ms each time. So the Draw tab
counts the strokes it is answering, and a run waits between two steps until none is left
(never longer than MAX_WAIT: strokes slow a run down, they never stop it).

    with STROKES.answering():      # the Draw tab, around its handler
        ...
    STROKES.wait_for_none()        # the training loop, between two steps

Measured with benchmarks/classroom_load.py (30 students drawing, 3 training), with and
without the wait in turns: drawing p95 over a trivial endpoint's p95 was 2.32, 1.50 and
2.15x with it, 4.65, 2.80 and 2.12x without; the runs trained 4-24% slower. This VM's
host makes such figures noisy (see the README): the wait helps, it does not cure.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# A step waits at most this long. Steps take ~2 ms, so a run under a stream of strokes
# that never pauses makes at least ~45 steps/s: the default run's 938 steps within ~21 s,
# under the 30 s cap.
MAX_WAIT = 0.02  # seconds


class StrokeCounter:
    """The strokes being answered right now; a training run waits for the count to be 0."""

    def __init__(self):
        self._strokes = 0
        # Held for a few instructions only. A run's thread holds it at the lowest CPU
        # priority, so on a busy machine a stroke may wait a moment to count itself in.
        self._changed = threading.Condition(threading.Lock())

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Count one stroke in for the duration of the `with` block (even if it fails)."""
        with self._changed:
            self._strokes += 1
        try:
            yield
        finally:
            with self._changed:
                self._strokes -= 1
                if self._strokes == 0:
                    self._changed.notify_all()

    def wait_for_none(self, timeout: float = MAX_WAIT) -> bool:
        """Wait until no stroke is being answered (True) or `timeout` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._strokes == 0, timeout)


STROKES = StrokeCounter()  # one per process: every student's strokes, every run
