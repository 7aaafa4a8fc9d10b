"""One student's training runs, without Gradio: settings and caps, the run loop, results.

The Train tab is only another consumer of `mnist_demo.train.train()`. What it adds lives
here, as plain functions the tests call without a server:

- `RunRequest` and `apply_caps`: what a student asks for, cut down to what two shared CPU
  cores can do in about 30 s. Anyone can call the app's API, so the caps live here, not in
  the sliders.
- `RunRecord` and `run_training`: one run's curves, status and model; the loop around
  `train()` that adds a wall-clock cap and a guard against exploding losses, runs in its
  own lower-priority thread (drawing students come first), reports a few times a second
  and stops cleanly on Stop.
- `evaluate_run`: test accuracy, the 10x10 confusion matrix, the misclassified digits.
- `loss_frame`, `accuracy_frame`, `confusion_styler`: data for native Gradio plots/tables.
- `export_run`: the weights and their JSON card, via `checkpoint.save_checkpoint`.

Shared things (the MNIST tensors, the shipped model) are loaded once and only read; a run
always trains its own fresh model, so what other students use never changes.

    record = start_run(session, request, notes)
    for record in run_training(record, model, train_set, test_set):
        ...  # draw record.losses, record.eval_accuracies; record.status says how it ended
"""

import contextlib
import copy
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from mnist_demo.checkpoint import save_checkpoint
from mnist_demo.constants import CLASS_NAMES, HIDDEN_SIZE
from mnist_demo.data import MNISTTensors, load_mnist
from mnist_demo.model import make_model
from mnist_demo.predict import shipped_model
from mnist_demo.train import (
    OPTIMIZERS,
    TrainConfig,
    TrainingDiverged,
    confusion_matrix,
    evaluate,
    predict_dataset,
    train,
)

# ---------------------------------------------------------------------------------------
# Caps: one run takes at most about 30 s on 2 CPU cores, whatever is asked.
# Measured single-threaded on this machine: about 60,000 images/s at batch 64 (hidden 128),
# so 10 passes over the 60,000 training images take about 10 s alone, 20 s with a second
# run and the Draw tab's traffic on the other core. The clock cap catches the rest.
# ---------------------------------------------------------------------------------------

MAX_SECONDS = 30.0  # wall clock of one run's training loop
MAX_STEPS = 10_000
MAX_EPOCHS = 10.0
TRAIN_IMAGES = 60_000
MAX_SAMPLES = int(MAX_EPOCHS * TRAIN_IMAGES)  # images seen in one run (steps x batch size)
LR_RANGE = (1e-4, 1.0)
BATCH_RANGE = (1, 1024)
HIDDEN_RANGE = (8, 1024)
TRAIN_SIZE_RANGE = (100, TRAIN_IMAGES)
SEED_RANGE = (0, 2**32 - 1)

EVAL_SIZE = 1_000  # held-out test images measured during a run (the first 1,000)
EVAL_POINTS = 20  # about this many accuracy measurements per run (plus one at step 0)
UPDATE_SECONDS = 0.3  # the browser gets a new picture of the run this often
# On Linux, runs train in threads that get only the CPU time nothing else wants
# (SCHED_IDLE; if that is refused, this `nice` value, 0 = normal, 19 = lowest): when the
# class draws, the Draw tab's requests get the CPU first, and idle CPU still goes to
# training. Elsewhere the threads keep the normal priority.
TRAIN_NICENESS = 10
MAX_RUNS_KEPT = 6  # a session keeps its last runs (curves and models), oldest dropped
GALLERY_SIZE = 24  # misclassified test digits shown after a run
# A run whose test accuracy stays below this learnt next to nothing (guessing gives 10%):
# the result says so and why, instead of a plain "Trained 300 steps".
LEARNT_NOTHING_BELOW = 0.2
SMOOTHING = 0.9  # loss curve: exponential moving average, like TensorBoard's slider
MAX_PLOT_POINTS = 200  # per run and curve: enough for the eye, cheap to send
# A cross-entropy this large means the true digit gets a probability below e^-10000: the
# weights are blowing up. We stop there instead of waiting for inf or NaN (with ReLU the
# net may also "recover" to a dead network that answers the same digit for everything).
EXPLODED_LOSS = 1e4
LOSS_PLOT_MAX = 10.0  # a blowing-up run is drawn up to here (ln 10 = 2.3 is where all start)

OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD", "momentum": "SGD+momentum"}
UNITS = ("epochs", "steps")
INIT_RANDOM, INIT_SHIPPED = "random", "shipped"
INITS = (INIT_RANDOM, INIT_SHIPPED)

# How a run ended (RUNNING while it goes).
RUNNING, FINISHED, CAPPED, STOPPED = "running", "finished", "capped", "stopped"
DIVERGED, FAILED = "diverged", "failed"

# Tableau 10: one fixed colour per run number, the same in every plot.
RUN_COLORS = (
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2",
    "#b279a2", "#eeca3b", "#ff9da6", "#9d755d", "#bab0ac",
)  # fmt: skip


class RunSettingsError(ValueError):
    """A setting that cannot be turned into a run (an unknown optimizer, a NaN rate...)."""


# ---------------------------------------------------------------------------------------
# What a student asks for, and the caps
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """The Train tab's settings, as asked (see `apply_caps` for what a run really gets)."""

    optimizer: str = "adam"  # "adam", "sgd" or "momentum" (SGD with momentum 0.9)
    lr: float = 1e-3  # the lesson's Adam learning rate
    batch_size: int = 64
    unit: str = "epochs"  # how `amount` counts: "epochs" (passes) or "steps"
    amount: float = 1.0
    train_size: int = TRAIN_IMAGES  # the first `train_size` training images
    hidden_size: int = HIDDEN_SIZE  # the lesson's 128
    seed: int = 0  # initial weights, the subset and the batch order all follow from it
    init: str = INIT_RANDOM  # start from random weights or from the shipped model

    @property
    def planned_steps(self) -> int:
        if self.unit == "steps":
            return int(self.amount)
        return max(1, math.ceil(self.amount * math.ceil(self.train_size / self.batch_size)))


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RunSettingsError(f"The {name} must be a number, not {value!r}.") from None
    if not math.isfinite(number):
        raise RunSettingsError(f"The {name} must be a finite number, not {value!r}.")
    return number


def _capped(value, bounds: tuple, name: str, notes: list[str], whole: bool = True):
    """`value` as a number within `bounds`; a note says so when it had to be moved."""
    number = _number(value, name)
    if whole:
        number = round(number)
    low, high = bounds
    if low <= number <= high:
        return number
    capped = min(max(number, low), high)
    notes.append(
        f"{name} {_show(number)} is outside {_show(low)}..{_show(high)}: using {_show(capped)}"
    )
    return capped


def _show(number: float) -> str:
    """1024 -> '1,024', 0.0001 -> '0.0001', 1e+30 -> '1e+30'."""
    if float(number).is_integer() and abs(number) < 1e12:
        return f"{int(number):,}"
    return f"{number:g}"


def apply_caps(request: RunRequest) -> tuple[RunRequest, list[str]]:
    """The request cut down to the classroom limits, and a note for every cut.

    Raises `RunSettingsError` for settings that clamping cannot repair.
    """
    optimizer = str(request.optimizer).lower()
    if optimizer not in OPTIMIZERS:
        choices = ", ".join(OPTIMIZERS)
        raise RunSettingsError(f"Unknown optimizer {request.optimizer!r}; choose one of {choices}.")
    if request.unit not in UNITS:
        raise RunSettingsError(f"Train for 'epochs' or 'steps', not {request.unit!r}.")
    if request.init not in INITS:
        raise RunSettingsError(f"Start from 'random' or 'shipped', not {request.init!r}.")

    notes: list[str] = []
    hidden_size = _capped(request.hidden_size, HIDDEN_RANGE, "hidden width", notes)
    if request.init == INIT_SHIPPED and hidden_size != HIDDEN_SIZE:
        notes.append(f"the shipped model has {HIDDEN_SIZE} hidden units, so this run has too")
        hidden_size = HIDDEN_SIZE
    if request.unit == "steps":
        amount = _capped(request.amount, (1, MAX_STEPS), "steps", notes)
    else:
        amount = _capped(request.amount, (0.01, MAX_EPOCHS), "epochs", notes, whole=False)
    capped = replace(
        request,
        optimizer=optimizer,
        lr=_capped(request.lr, LR_RANGE, "learning rate", notes, whole=False),
        batch_size=_capped(request.batch_size, BATCH_RANGE, "batch size", notes),
        amount=amount,
        train_size=_capped(request.train_size, TRAIN_SIZE_RANGE, "training images", notes),
        hidden_size=hidden_size,
        seed=_capped(request.seed, SEED_RANGE, "seed", notes),
    )

    max_steps = min(MAX_STEPS, MAX_SAMPLES // capped.batch_size)
    if capped.planned_steps > max_steps:
        epochs = max_steps * capped.batch_size / capped.train_size
        notes.append(
            f"{capped.planned_steps:,} steps of {capped.batch_size} images is more than one run "
            f"may do: training {max_steps:,} steps ({epochs:.3g} epochs)"
        )
        capped = replace(capped, unit="steps", amount=max_steps)
    return capped, notes


def train_config(request: RunRequest) -> TrainConfig:
    """The `TrainConfig` of a capped request (always a fixed number of steps).

    Its `train_size` stays None: a run trains on `first_images(...)`, a view of the shared
    tensors, where `train()`'s random subset would copy up to 188 MB per run.
    """
    steps = request.planned_steps
    return TrainConfig(
        optimizer=request.optimizer,
        lr=request.lr,
        batch_size=request.batch_size,
        epochs=steps * request.batch_size / request.train_size,
        max_steps=steps,
        hidden_size=request.hidden_size,
        seed=request.seed,
        report_every=1,  # the loop looks at the clock (and at Stop) after every step
    )


def initial_model(request: RunRequest) -> nn.Module:
    """A fresh model to train: random weights from the seed, or a copy of the shipped model.

    Never the model anyone is using: a run trains its own copy. Raises
    `checkpoint.CheckpointError` when the shipped model is asked for but missing.
    """
    if request.init == INIT_SHIPPED:
        return copy.deepcopy(shipped_model()).train()
    return make_model(request.hidden_size, seed=request.seed)


def describe(request: RunRequest) -> str:
    """The settings that tell runs apart, in words: "Adam, lr 0.001, batch 64, ..."."""
    start = ", from the shipped model" if request.init == INIT_SHIPPED else ""
    return (
        f"{OPTIMIZER_NAMES[request.optimizer]}, lr {request.lr:g}, batch {request.batch_size}, "
        f"{request.hidden_size} hidden, seed {request.seed}{start}"
    )


# ---------------------------------------------------------------------------------------
# Shared data (loaded once, read by everyone)
# ---------------------------------------------------------------------------------------

_DATA_LOCK = threading.Lock()  # two first runs at once must not both read (or download) MNIST


def shared_data() -> tuple[MNISTTensors, MNISTTensors]:
    """(training set, test set), loaded once per process. Raises `MNISTNotFoundError`."""
    with _DATA_LOCK:
        return load_mnist(train=True), load_mnist(train=False)


def first_images(dataset: MNISTTensors, size: int) -> MNISTTensors:
    """The first `size` images of a data set, as views: nothing is copied.

    MNIST's files are not sorted by digit, so the first images are as good a sample as any.
    """
    return MNISTTensors(images=dataset.images[:size], labels=dataset.labels[:size])


def eval_subset(test_set: MNISTTensors) -> MNISTTensors:
    """The held-out images measured during a run: the first EVAL_SIZE test images."""
    return first_images(test_set, EVAL_SIZE)


# ---------------------------------------------------------------------------------------
# A run and its results
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    """One misclassified test image."""

    index: int  # position in the test set
    image: np.ndarray  # (28, 28) 0..1, white digit on black
    target: int
    predicted: int
    confidence: float  # softmax probability of the predicted digit

    @property
    def caption(self) -> str:
        """Short enough for a gallery tile: "2 -> 7 (93%)" is a 2 taken for a 7, 93% sure."""
        return f"{self.target} -> {self.predicted} ({self.confidence:.0%})"


@dataclass(frozen=True)
class RunResult:
    """How a trained model does on the whole test set."""

    test_accuracy: float
    confusion: torch.Tensor  # (10, 10) counts: row = true digit, column = predicted digit
    mistakes: list[Mistake]  # the most confident mistakes first
    test_images: int
    dead_units: int  # hidden ReLU units that output 0 for every test image
    hidden_units: int


@dataclass(eq=False)
class RunRecord:
    """One run of one student: settings, curves, status and (once it ends) its model."""

    run_id: int
    request: RunRequest  # after the caps
    notes: list[str] = field(default_factory=list)  # what the caps changed
    status: str = RUNNING
    message: str = ""
    losses: list[float] = field(default_factory=list)  # every step's training loss
    eval_steps: list[int] = field(default_factory=list)
    eval_accuracies: list[float] = field(default_factory=list)  # on the EVAL_SIZE test images
    samples_per_second: float = 0.0
    elapsed: float = 0.0  # seconds of training so far
    max_seconds: float = MAX_SECONDS  # the clock cap this run had
    model: nn.Module | None = None  # set when the run ends with usable weights
    result: RunResult | None = None

    @property
    def config(self) -> TrainConfig:
        return train_config(self.request)

    @property
    def total_steps(self) -> int:
        return self.request.planned_steps

    @property
    def step(self) -> int:
        return len(self.losses)

    @property
    def label(self) -> str:
        return f"#{self.run_id} {describe(self.request)}"

    @property
    def legend(self) -> str:
        """A short name for plot legends: the number, optimizer and rate, and what else
        differs from the defaults."""
        request, default = self.request, RunRequest()
        parts = [f"#{self.run_id} {OPTIMIZER_NAMES[request.optimizer]} lr {request.lr:g}"]
        if request.batch_size != default.batch_size:
            parts.append(f"batch {request.batch_size}")
        if request.hidden_size != default.hidden_size:
            parts.append(f"{request.hidden_size} hidden")
        if request.train_size != default.train_size:
            parts.append(f"{request.train_size:,} images")
        if request.seed != default.seed:
            parts.append(f"seed {request.seed}")
        if request.init == INIT_SHIPPED:
            parts.append("from shipped")
        return ", ".join(parts)

    @property
    def color(self) -> str:
        return RUN_COLORS[(self.run_id - 1) % len(RUN_COLORS)]

    @property
    def has_model(self) -> bool:
        return self.model is not None

    def seconds_left(self) -> float:
        """Estimated time to the end: steps left at the speed so far, within the clock cap."""
        if self.step == 0 or self.elapsed <= 0:
            return self.max_seconds
        by_speed = (self.total_steps - self.step) * self.elapsed / self.step
        return max(0.0, min(by_speed, self.max_seconds - self.elapsed))


def runs_of(session: dict) -> list[RunRecord]:
    return session.setdefault("runs", [])


def start_run(session: dict, request: RunRequest, notes: list[str] | None = None) -> RunRecord:
    """A new record in the student's session (the oldest runs beyond MAX_RUNS_KEPT go)."""
    run_id = session.get("next_run_id", 1)
    session["next_run_id"] = run_id + 1
    record = RunRecord(run_id=run_id, request=request, notes=list(notes or []))
    runs = runs_of(session)
    runs.append(record)
    del runs[:-MAX_RUNS_KEPT]
    return record


def find_run(session: dict, run_id) -> RunRecord | None:
    for record in runs_of(session):
        if str(record.run_id) == str(run_id):
            return record
    return None


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

    The training runs in its own thread at the lowest CPU priority (`lower_priority`), so
    that a class drawing in the Draw tab is served first and training takes the CPU left
    over.
    The record ends as FINISHED, CAPPED (the clock ran out: `max_seconds`, default
    MAX_SECONDS) or DIVERGED (loss NaN, infinite or exploding: no model kept), with `result`
    measured on the whole test set (except for DIVERGED).

    Closing this generator (Gradio does it when the student presses Stop) asks the thread to
    stop after its current step and returns at once: Gradio closes generators on its event
    loop, where nothing may wait. Within a step the record becomes STOPPED, with the
    weights after the last whole step; its `result` is left to `ensure_result`.
    """
    record.max_seconds = MAX_SECONDS if max_seconds is None else max_seconds
    update_seconds = UPDATE_SECONDS if update_seconds is None else update_seconds
    stop = threading.Event()
    worker = threading.Thread(
        target=_train_run,
        args=(record, model, train_set, test_set, stop),
        name=f"train-run-{record.run_id}",
        daemon=True,
    )
    worker.start()
    try:
        while True:
            worker.join(timeout=max(update_seconds, 0.001))
            if not worker.is_alive():
                break
            yield record
    finally:
        stop.set()  # only matters when closed early; the worker may already be done
    yield record


def _train_run(
    record: RunRecord,
    model: nn.Module,
    train_set: MNISTTensors,
    test_set: MNISTTensors,
    stop: threading.Event,
) -> None:
    """The body of a run's thread: `train()` with the clock cap, Stop and the NaN guard.

    The record's status is set last, once the model and results it speaks of are in place.
    """
    lower_priority()
    config = train_config(record.request)
    held_out = eval_subset(test_set)
    eval_every = max(1, math.ceil(config.max_steps / EVAL_POINTS))
    train_view = first_images(train_set, record.request.train_size)
    events = train(model, train_view, config, eval_set=held_out, eval_every=eval_every)
    try:
        record.eval_accuracies.append(evaluate(model, held_out))  # ~10% for random weights
        record.eval_steps.append(0)
        start = time.perf_counter()
        status = FINISHED
        for progress in events:
            record.losses.extend(progress.losses)
            record.samples_per_second = progress.samples_per_second
            record.elapsed = time.perf_counter() - start
            if progress.test_accuracy is not None:
                record.eval_accuracies.append(progress.test_accuracy)
                record.eval_steps.append(progress.step)
            if max(progress.losses) > EXPLODED_LOSS:
                raise TrainingDiverged(
                    f"The loss reached {max(progress.losses):.3g} at step {progress.step} (a new "
                    f"network starts near ln 10 = 2.3): the learning rate {record.request.lr:g} "
                    f"makes steps so large that the weights blow up; left alone, the loss ends "
                    f"as inf or NaN. Try a smaller learning rate."
                )
            if progress.step == progress.total_steps:
                break
            if stop.is_set():  # the student pressed Stop: the weights are a whole step's
                record.message = (
                    f"Stopped by you after {record.step:,} of {record.total_steps:,} steps; "
                    f"the model keeps the weights of step {record.step:,}."
                )
                record.model = model.eval()
                record.status = STOPPED
                return
            if record.elapsed >= record.max_seconds:
                status = CAPPED
                record.message = (
                    f"Stopped at the {record.max_seconds:g} s limit after {progress.step:,} of "
                    f"{progress.total_steps:,} steps (the class shares two CPU cores)."
                )
                break
        if status == FINISHED:
            record.message = f"Trained {record.step:,} steps in {record.elapsed:.1f} s."
        model.eval()
        if record.eval_steps[-1] != record.step:  # ended between two measurements
            record.eval_accuracies.append(evaluate(model, held_out))
            record.eval_steps.append(record.step)
        record.result = evaluate_run(model, test_set)
        record.model = model
        record.status = status
    except TrainingDiverged as error:
        record.message = (
            f"{error} Each step moves every weight by about learning rate x gradient; when "
            f"that step is too large the loss overshoots, grows and ends as NaN or "
            f"infinity. This run's weights are thrown away: your previous model stays."
        )
        record.status = DIVERGED
    except Exception as error:  # noqa: BLE001 (a thread has nobody to raise to: say it)
        record.message = f"The run failed ({type(error).__name__}: {error})."
        record.status = FAILED
    finally:
        events.close()


def lower_priority(niceness: int = TRAIN_NICENESS) -> None:
    """Let the calling thread run only on CPU time that nothing else wants.

    On Linux: the SCHED_IDLE policy, for this thread only (a thread id works as a process
    id here). Under a class's load this halved how much later the Draw tab answered than a
    trivial endpoint, against `nice` alone (benchmarks/classroom_load.py). The thread is
    also given `niceness`, the fallback if SCHED_IDLE is refused. Neither needs a
    privilege, and the priority is never raised. Elsewhere (no thread priorities in
    Python's `os`) nothing changes.

    The price: on a machine whose cores other programs keep busy, a run crawls (its clock
    cap, MAX_SECONDS, still ends it) and its final measurement waits for a free moment.
    """
    thread_id = threading.get_native_id()
    with contextlib.suppress(AttributeError, OSError):
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, max(current, niceness))
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))


def ensure_result(record: RunRecord, test_set: MNISTTensors) -> RunResult | None:
    """The record's result, measured now if the run was stopped before it got one."""
    if record.result is None and record.model is not None:
        if record.eval_steps[-1] != record.step:  # the accuracy curve's last point
            record.eval_steps.append(record.step)
            record.eval_accuracies.append(evaluate(record.model, eval_subset(test_set)))
        record.result = evaluate_run(record.model, test_set)
    return record.result


def count_dead_units(model: nn.Module, dataset: MNISTTensors) -> int:
    """Hidden ReLU units that output 0 for every image of `dataset`.

    Such a unit has gradient 0 for every image too (ReLU is flat below 0), so no later step
    can bring it back: it has "died", typically after a step so large that its bias or
    weights were thrown far negative.
    """
    return logits_and_dead_units(model, dataset)[1]


def logits_and_dead_units(model: nn.Module, dataset: MNISTTensors) -> tuple[torch.Tensor, int]:
    """`predict_dataset`'s logits (N, 10), and the dead ReLU units seen in the same pass.

    A forward hook on `model.relu` looks at the hidden layer's output of every batch.
    """
    alive = torch.zeros(model.fc1.out_features, dtype=torch.bool)

    def note_alive(module, inputs, output) -> None:  # output: (batch, hidden)
        alive.logical_or_(output.amax(dim=0) > 0)

    hook = model.relu.register_forward_hook(note_alive)
    try:
        logits = predict_dataset(model, dataset)
    finally:
        hook.remove()
    return logits, int((~alive).sum())


def learnt_nothing_note(record: RunRecord) -> str | None:
    """Why a run that ended normally is no better than guessing, or None if it learnt."""
    result = record.result
    if result is None or result.test_accuracy >= LEARNT_NOTHING_BELOW:
        return None
    note = (
        f"This network learnt next to nothing: {result.test_accuracy:.1%} on the test images, "
        f"where guessing gives 10%."
    )
    if result.dead_units > result.hidden_units / 2:
        note += (
            f" {result.dead_units} of its {result.hidden_units} hidden ReLU units output 0 "
            f"for every test image: they have died, so their gradient is 0 and no step can "
            f"revive them."
        )
    if record.request.lr >= 0.1:
        note += f" A learning rate of {record.request.lr:g} makes steps too large: try 0.001."
    else:
        note += " Train for more steps, or try a larger learning rate."
    return note


def evaluate_run(
    model: nn.Module, test_set: MNISTTensors, gallery_size: int = GALLERY_SIZE
) -> RunResult:
    """Accuracy, confusion matrix, the most confident mistakes and the dead ReLU units on a
    test set (one pass over it)."""
    logits, dead_units = logits_and_dead_units(model, test_set)  # (N, 10), int
    confidences, predictions = torch.softmax(logits, dim=1).max(dim=1)  # (N,), (N,)
    targets = test_set.labels
    wrong = (predictions != targets).nonzero().squeeze(1)  # indices of the mistakes
    worst = wrong[confidences[wrong].argsort(descending=True)[:gallery_size]]
    mistakes = [
        Mistake(
            index=int(i),
            image=test_set.images[i, 0].numpy().copy(),  # (28, 28)
            target=int(targets[i]),
            predicted=int(predictions[i]),
            confidence=float(confidences[i]),
        )
        for i in worst
    ]
    return RunResult(
        test_accuracy=(predictions == targets).float().mean().item(),
        confusion=confusion_matrix(targets, predictions),
        mistakes=mistakes,
        test_images=len(test_set),
        dead_units=dead_units,
        hidden_units=model.fc1.out_features,
    )


# ---------------------------------------------------------------------------------------
# Plot and table data
# ---------------------------------------------------------------------------------------


def smooth(values: list[float], weight: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average, debiased so the curve starts at the first value."""
    smoothed = np.empty(len(values))
    average = 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        smoothed[i] = average / (1 - weight ** (i + 1))
    return smoothed


def _thin(length: int, max_points: int = MAX_PLOT_POINTS) -> np.ndarray:
    """Indices of at most `max_points` evenly spread points, always with the last one."""
    if length <= max_points:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, max_points).round().astype(int))


def loss_frame(runs: list[RunRecord]) -> pd.DataFrame:
    """Smoothed training loss per step, one series per run: columns step, loss, run."""
    parts = []
    for record in runs:
        if not record.losses:
            continue
        smoothed = np.minimum(smooth(record.losses), LOSS_PLOT_MAX)
        keep = _thin(len(smoothed))
        parts.append(pd.DataFrame({"step": keep + 1, "loss": smoothed[keep], "run": record.legend}))
    return _concat(parts, ["step", "loss", "run"])


def accuracy_frame(runs: list[RunRecord]) -> pd.DataFrame:
    """Accuracy on the held-out test images, one series per run: step, accuracy, run."""
    parts = []
    for record in runs:
        # A run's thread may be appending right now: take the points both lists have.
        count = min(len(record.eval_steps), len(record.eval_accuracies))
        if count:
            parts.append(
                pd.DataFrame(
                    {
                        "step": record.eval_steps[:count],
                        "accuracy": record.eval_accuracies[:count],
                        "run": record.legend,
                    }
                )
            )
    return _concat(parts, ["step", "accuracy", "run"])


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(
            {name: pd.Series(dtype=float if name != "run" else str) for name in columns}
        )
    return pd.concat(parts, ignore_index=True)


def color_map(runs: list[RunRecord]) -> dict[str, str]:
    """Legend -> colour, fixed by run number, so a run keeps its colour in every plot."""
    return {record.legend: record.color for record in runs}


def confusion_frame(confusion: torch.Tensor) -> pd.DataFrame:
    """The 10x10 counts as a table: one row per true digit, one column per predicted digit
    (headed by the digit alone, so that all ten fit beside the gallery)."""
    frame = pd.DataFrame(confusion.numpy(), columns=list(CLASS_NAMES))
    frame.insert(0, "true", CLASS_NAMES)
    return frame


def confusion_styler(confusion: torch.Tensor):
    """The table coloured: green on the diagonal (right), red elsewhere (mistakes).

    Each cell's strength is its share of its row (of all images of that true digit), so a
    digit the network often confuses shows up whatever the class sizes.
    """
    frame = confusion_frame(confusion)
    shares = (confusion / confusion.sum(dim=1, keepdim=True).clamp(min=1)).numpy()  # (10, 10)

    def colours(table: pd.DataFrame) -> pd.DataFrame:
        css = pd.DataFrame("", index=table.index, columns=table.columns)
        for row in range(len(CLASS_NAMES)):
            for column in range(len(CLASS_NAMES)):
                share = shares[row, column]
                if row == column:
                    css.iloc[row, column + 1] = (
                        f"background-color: rgba(84, 162, 75, {0.15 + 0.6 * share:.2f})"
                    )
                elif share > 0:
                    css.iloc[row, column + 1] = (
                        f"background-color: rgba(228, 87, 86, {min(0.9, 0.1 + 4 * share):.2f})"
                    )
        return css

    return frame.style.apply(colours, axis=None)


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


def reproduce_command(record: RunRecord) -> str | None:
    """The command line that trains the same weights again.

    Only for runs from random weights on all 60,000 images: the command line has no
    "start from the shipped model", and its --train-size picks a random subset, not the
    first images.
    """
    request = record.request
    if request.init != INIT_RANDOM or request.train_size != TRAIN_IMAGES:
        return None
    return (
        f"python -m mnist_demo.train --optimizer {request.optimizer} --lr {request.lr:g} "
        f"--batch-size {request.batch_size} --max-steps {record.step} "
        f"--hidden-size {request.hidden_size} --seed {request.seed}"
    )


def export_run(record: RunRecord, folder: Path) -> tuple[Path, Path]:
    """Write the run's weights (.pt) and JSON card (.json) into `folder`; returns both paths."""
    if record.model is None:
        raise RunSettingsError(
            f"Run #{record.run_id} has no weights to download ({record.status})."
        )
    path = Path(folder) / f"mnist_mlp_run{record.run_id}.pt"
    config = asdict(replace(record.config, max_steps=record.step))
    details = {
        "training": config,
        "run": {
            "label": record.label,
            "status": record.status,
            "steps": record.step,
            "train_images": f"the first {record.request.train_size:,} MNIST training images",
            "started_from": "the shipped model"
            if record.request.init == INIT_SHIPPED
            else "random weights",
            "caps_applied": record.notes,
        },
        "test_accuracy": record.result.test_accuracy if record.result else None,
        "train_seconds": round(record.elapsed, 3),
    }
    command = reproduce_command(record)
    if command is not None:
        details["command"] = command
    save_checkpoint(record.model, path, **details)
    return path, path.with_suffix(".json")
