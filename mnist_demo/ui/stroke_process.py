"""A process of its own that answers the Draw tab's strokes (with the shipped model).

Why: Python runs one thread of a process at a time (the Global Interpreter Lock, GIL).
In the server, a stroke's ~4 ms of Python is cut into ~40 pieces by the calls that let go
of the lock (torch operations, PNG decoding), and under a class's load it waited for the
lock before each piece: Gradio's own request handling, the Train tab and training held it
about half the time. This process has a GIL of its own. Measured with
benchmarks/classroom_load.py (30 drawing, 3 training; 6 pairs of runs in turns): the
drawings' p95 over a trivial endpoint's was 1.51, 1.23, 1.42, 1.67, 1.14 and 2.33x with
it, 2.88, 1.24, 2.87, 3.19, 1.82 and 2.53x without, and training ran faster too. The two
processes use ~1.2 GB together (PSS), about 0.1 GB more than the server alone.

    strokes = StrokeProcess(answer)   # forks now: call it before the server starts
    strokes.ask(canvas)               # answer(canvas), computed in the process

The process is a fork of the server, so it starts with everything the server has loaded
(the shipped model, the components). If it dies or hangs, `ask` raises `StrokeProcessGone`
from then on, and the caller answers in its own process: slower under load, never wrong.
"""

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable

ANSWER_TIMEOUT = 10.0  # seconds; a stroke takes ~2-4 ms, so a process this slow is stuck


class StrokeProcessGone(RuntimeError):
    """The process cannot answer (it died, hung, or `answer` raised): answer elsewhere."""


class StrokeProcess:
    """One process that calls `answer(canvas)` for each stroke, one stroke at a time."""

    def __init__(self, answer: Callable[[object], object]):
        fork = multiprocessing.get_context("fork")
        self._connection, theirs = fork.Pipe()
        self._process = fork.Process(
            target=_answer_strokes, args=(answer, theirs), name="strokes", daemon=True
        )
        self._process.start()
        theirs.close()
        self._lock = threading.Lock()  # one stroke in the pipe at a time
        self.alive = True

    def ask(self, canvas):
        """`answer(canvas)`, computed in the process. Raises `StrokeProcessGone`."""
        if not self._lock.acquire(timeout=ANSWER_TIMEOUT):  # a stroke before is stuck
            raise StrokeProcessGone(f"the stroke process is busy for over {ANSWER_TIMEOUT:g} s")
        try:
            if not self.alive:
                raise StrokeProcessGone("the stroke process has stopped")
            try:
                self._connection.send(canvas)
                if not self._connection.poll(ANSWER_TIMEOUT):
                    raise TimeoutError(f"no answer in {ANSWER_TIMEOUT:g} s")
                failed, answer = self._connection.recv()
            except (OSError, EOFError, TimeoutError) as error:
                self.alive = False
                self._process.kill()
                self._process.join()
                raise StrokeProcessGone(f"the stroke process has stopped ({error})") from error
        finally:
            self._lock.release()
        if failed:  # `answer` raised: the caller answers again, and sees the real error
            raise StrokeProcessGone(answer)
        return answer


def _answer_strokes(answer: Callable[[object], object], connection) -> None:
    """The process: answer every canvas that comes down the pipe, until the pipe closes."""
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the server; it ends us
    # A fork keeps copies of every file the server had open, pipes to other programs
    # included (a test's browser driver waited for one to close). Keep only the pipe.
    os.closerange(3, connection.fileno())
    os.closerange(connection.fileno() + 1, os.sysconf("SC_OPEN_MAX"))
    while True:
        try:
            canvas = connection.recv()
        except EOFError:  # the server has gone
            return
        try:
            connection.send((False, answer(canvas)))
        except Exception as error:  # noqa: BLE001 (reported to the server, which retries)
            connection.send((True, f"{type(error).__name__}: {error}"))
