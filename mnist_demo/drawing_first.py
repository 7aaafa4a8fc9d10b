"""Drawing comes first: a training step waits while a stroke is being answered.

Python runs one thread at a time (the Global Interpreter Lock, GIL). Answering a stroke
takes ~2.5 ms of Python, cut into ~40 pieces by the calls that let go of the lock (each
torch operation, the PNG decoding). A run training in another thread takes the lock in
every gap, and the stroke then waits for it to come back, up to 5 ms each time. So while
a run trains, the Draw tab's handler says "I am answering" and the run waits between two
steps until no stroke is being answered (never longer than MAX_WAIT: strokes slow a run
down, they never stop it).

Measured with benchmarks/classroom_load.py (30 students drawing, 3 training), with and
without the wait in turns: drawing p95 over a trivial endpoint's p95 was 2.32, 1.50 and
2.15x with it, 4.65, 2.80 and 2.12x without; the run trained 4-24% slower.

    with DRAWING.answering():      # the Draw tab, around its handler
        ...
    DRAWING.wait_until_quiet()      # the training loop, between two steps
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT = 0.05  # seconds a training step waits at most for the strokes to be answered


class DrawingFirst:
    """Counts the strokes being answered right now; training waits for the count to be 0."""

    def __init__(self):
        self._strokes = 0
        self._changed = threading.Condition(threading.Lock())

    @contextmanager
    def answering(self) -> Iterator[None]:
        with self._changed:
            self._strokes += 1
        try:
            yield
        finally:
            with self._changed:
                self._strokes -= 1
                if self._strokes == 0:
                    self._changed.notify_all()

    def wait_until_quiet(self, timeout: float = MAX_WAIT) -> bool:
        """Wait until no stroke is being answered (True) or `timeout` seconds (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._strokes == 0, timeout)


DRAWING = DrawingFirst()  # one per process: every student's strokes, every run
