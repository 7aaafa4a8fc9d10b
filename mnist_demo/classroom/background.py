"""A student's training run in a thread of its own, at the lowest CPU priority.

The run is the lesson's `train()`; this adds what a shared classroom needs around it: a
wall-clock cap, the Stop button (both through `train()`'s `should_stop`), and a thread that
only gets CPU time the drawing students do not want.

    for record in run_training(record, model, train_set, test_set):
        ...  # a few times a second: draw record.curves(); record.status says how it ended

`follow_training` is the same for an async event handler (no thread held while watching).
"""

import asyncio
import contextlib
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

from torch import nn

from mnist_demo.classroom.runs import (
    CAPPED,
    DIVERGED,
    FAILED,
    FINISHED,
    MAX_SECONDS,
    STOPPED,
    RunRecord,
)
from mnist_demo.constants import EVAL_SIZE
from mnist_demo.data import MNISTTensors, first_images
from mnist_demo.evaluate import Evaluation, evaluate_fully, loss_and_accuracy
from mnist_demo.train import TrainingDiverged, train

EVAL_POINTS = 20  # about this many accuracy measurements per run (plus one at step 0)
UPDATE_SECONDS = 0.3  # the browser gets a new picture of the run this often
TRAIN_NICENESS = 10  # if SCHED_IDLE is refused: 0 = normal, 19 = lowest


def run_training(
    record: RunRecord,
    model: nn.Module,
    train_set: MNISTTensors,
    test_set: MNISTTensors,
    *,
    max_seconds: float | None = None,
    update_seconds: float | None = None,
) -> Iterator[RunRecord]:
    """Train `model` (the run's own), yielding `record` every `update_seconds` (default
    UPDATE_SECONDS) while it trains, and once more at the end.

    The record ends as FINISHED, CAPPED (the clock ran out: `max_seconds`, default
    MAX_SECONDS), STOPPED or DIVERGED (no model kept), with `result` measured on the whole
    test set (STOPPED leaves that to `ensure_result`).

    Closing this generator early asks the thread to stop after its current step and returns
    at once.
    """
    worker, stop = _start(record, model, train_set, test_set, max_seconds)
    try:
        while True:
            worker.join(timeout=max(update_seconds or UPDATE_SECONDS, 0.001))
            if not worker.is_alive():
                break
            yield record
    finally:
        stop.set()  # only matters when closed early; the worker may already be done
    yield record


async def follow_training(
    record: RunRecord,
    model: nn.Module,
    train_set: MNISTTensors,
    test_set: MNISTTensors,
    *,
    max_seconds: float | None = None,
    update_seconds: float | None = None,
    stop_when: Callable[[], bool] = lambda: False,
) -> AsyncIterator[RunRecord]:
    """`run_training` for an async event handler: it waits with `asyncio.sleep`, so a
    student watching a run holds no server thread. It yields once as soon as the thread
    has started; cancelling it from then on (Stop, or the page closing) asks the run's
    thread to stop after its current step. So does `stop_when()` turning true (the thread
    asks it after every step): the queue dropped the run because its page had gone, and a
    page that has gone is no longer asked for its next update."""
    worker, stop = _start(record, model, train_set, test_set, max_seconds, stop_when)
    try:
        yield record  # started: from here on, closing this stops the thread
        while worker.is_alive():
            await asyncio.sleep(max(update_seconds or UPDATE_SECONDS, 0.001))
            if worker.is_alive():
                yield record
    finally:
        stop.set()
    yield record


def _start(
    record, model, train_set, test_set, max_seconds, stop_when=lambda: False
) -> tuple[threading.Thread, threading.Event]:
    """The run's thread, started, and the event that asks it to stop."""
    record.max_seconds = MAX_SECONDS if max_seconds is None else max_seconds
    # The clock runs from here, also while a busy machine gives the run's thread no time:
    # the runs queued behind it know it ends within max_seconds.
    record.clock_start = time.perf_counter()
    stop = threading.Event()
    worker = threading.Thread(
        target=_train_run,
        args=(record, model, train_set, test_set, stop, stop_when),
        name=f"train-run-{record.run_id}",
        daemon=True,
    )
    worker.start()
    return worker, stop


def _train_run(record, model, train_set, test_set, stop, stop_when) -> None:
    """The body of a run's thread. The record's status is set last, once the model and
    results it speaks of are in place."""
    lower_priority()
    held_out = first_images(test_set, EVAL_SIZE)
    config = record.config  # capped: a fixed number of steps, reported one by one
    eval_every = max(1, math.ceil(config.max_steps / EVAL_POINTS))
    try:
        record.add_evaluation(0, *loss_and_accuracy(model, held_out))  # ~2.3, ~10% at random
        start = record.clock_start

        def should_stop() -> bool:
            if stop_when():
                stop.set()
            return stop.is_set() or time.perf_counter() - start >= record.max_seconds

        for progress in train(model, train_set, config, held_out, eval_every, should_stop):
            record.add_losses(progress.losses)
            record.samples_per_second = progress.samples_per_second
            record.elapsed = time.perf_counter() - start
            if progress.test_accuracy is not None:
                record.add_evaluation(progress.step, progress.test_loss, progress.test_accuracy)
        _finish(record, model, test_set, stopped=stop.is_set())
    except TrainingDiverged as error:
        record.message = (
            f"{error} Each step moves every weight by about learning rate x gradient; when "
            f"that step is too large the loss overshoots, grows and ends as NaN or "
            f"infinity. This run's weights are thrown away: your previous model stays."
        )
        record.status = DIVERGED
    except Exception as error:  # a thread has nobody to raise to: say it
        record.message = f"The run failed ({type(error).__name__}: {error})."
        record.status = FAILED


def _finish(record: RunRecord, model: nn.Module, test_set: MNISTTensors, stopped: bool) -> None:
    """Say how the run ended and keep its model (measured, unless the student stopped it)."""
    model.zero_grad(set_to_none=True)  # a kept model keeps no gradients: as much again
    if record.step >= record.total_steps:
        status, record.message = (
            FINISHED,
            (f"Trained {record.step:,} steps in {record.elapsed:.1f} s."),
        )
    elif stopped:
        record.message = (
            f"Stopped by you after {record.step:,} of {record.total_steps:,} steps; "
            f"the model keeps the weights of step {record.step:,}."
        )
        record.model = model
        record.status = STOPPED
        return
    else:
        status, record.message = (
            CAPPED,
            (
                f"Stopped at the {record.max_seconds:g} s limit after {record.step:,} of "
                f"{record.total_steps:,} steps (the class shares two CPU cores)."
            ),
        )
    record.result = evaluate_fully(model, test_set)
    record.model = model
    record.status = status


def ensure_result(record: RunRecord, test_set: MNISTTensors) -> Evaluation | None:
    """The record's result, measured now if the run was stopped before it got one."""
    if record.result is None and record.model is not None:
        if record.curves().eval_steps[-1] != record.step:  # the held-out curves' last point
            held_out = first_images(test_set, EVAL_SIZE)
            record.add_evaluation(record.step, *loss_and_accuracy(record.model, held_out))
        record.result = evaluate_fully(record.model, test_set)
    return record.result


def lower_priority(niceness: int = TRAIN_NICENESS) -> None:
    """Let the calling thread run only on CPU time that nothing else wants.

    On Linux: the SCHED_IDLE policy for this thread (a thread id works as a process id
    here), and `niceness` as the fallback if that is refused; neither needs a privilege.
    Elsewhere nothing changes. The price: on a busy machine a run crawls (the clock cap
    still ends it). Why: docs/performance.md.
    """
    thread_id = threading.get_native_id()
    with contextlib.suppress(AttributeError, OSError):
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, max(current, niceness))
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))
