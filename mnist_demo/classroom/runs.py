"""One student's runs: the caps on what they ask for, each run's record, their session.

Anyone can call the app's API, so the caps live here, not in the sliders: whatever is
asked, a run takes at most about 30 s of two shared CPU cores.

    config, notes = apply_caps(config_from_form("adam", 0.001, 64, "epochs", 1, ...))
    record = session.start_run(config, notes)   # then classroom.background trains it
"""

import copy
import math
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from torch import nn

from mnist_demo.checkpoint import save_checkpoint
from mnist_demo.constants import HIDDEN_SIZE, TRAIN_IMAGES
from mnist_demo.evaluate import Evaluation
from mnist_demo.model import make_model
from mnist_demo.plots import run_color
from mnist_demo.predict import shipped_model
from mnist_demo.train import OPTIMIZERS, TrainConfig

# Caps: at ~60,000 images/s on one core, 10 epochs take ~10 s alone; the clock catches the rest.
MAX_SECONDS = 30.0  # wall clock of one run's training loop
MAX_STEPS = 10_000
MAX_EPOCHS = 10.0
MAX_SAMPLES = int(MAX_EPOCHS * TRAIN_IMAGES)  # images seen in one run (steps x batch size)
LR_RANGE = (1e-4, 1.0)
BATCH_RANGE = (1, 1024)
HIDDEN_RANGE = (8, 1024)
TRAIN_SIZE_RANGE = (100, TRAIN_IMAGES)
SEED_RANGE = (0, 2**32 - 1)
MAX_RUNS_KEPT = 6  # a session keeps its last runs' curves, oldest dropped...
MAX_MODELS_KEPT = 3  # ...and the models of its last three (and the one its Draw tab uses)

OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD", "momentum": "SGD+momentum"}
UNITS = ("epochs", "steps")
INIT_RANDOM, INIT_SHIPPED = "random", "shipped"
INITS = (INIT_RANDOM, INIT_SHIPPED)

# How a run ended (RUNNING while it goes).
RUNNING, FINISHED, CAPPED, STOPPED = "running", "finished", "capped", "stopped"
DIVERGED, FAILED = "diverged", "failed"


class RunSettingsError(ValueError):
    """A setting that cannot be turned into a run (an unknown optimizer, a NaN rate...)."""


def config_from_form(
    optimizer="adam",
    lr=1e-3,
    batch_size=64,
    unit="epochs",
    amount=1.0,
    train_size=TRAIN_IMAGES,
    hidden_size=HIDDEN_SIZE,
    seed=0,
    init=INIT_RANDOM,
    softmax_bug=False,
) -> TrainConfig:
    """The Train tab's settings (or an API caller's) as a `TrainConfig`, before the caps."""
    if unit not in UNITS:
        raise RunSettingsError(f"Train for 'epochs' or 'steps', not {unit!r}.")
    how_long = {"max_steps": amount} if unit == "steps" else {"epochs": amount}
    return TrainConfig(
        optimizer=optimizer,
        lr=lr,
        batch_size=batch_size,
        train_size=train_size,
        hidden_size=hidden_size,
        seed=seed,
        init=init,
        softmax_bug=softmax_bug is True or str(softmax_bug).lower() == "true",
        **how_long,
    )


def as_number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RunSettingsError(f"The {name} must be a number, not {value!r}.") from None
    if not math.isfinite(number):
        raise RunSettingsError(f"The {name} must be a finite number, not {value!r}.")
    return number


def capped(value, bounds: tuple, name: str, notes: list[str], whole: bool = True):
    """`value` as a number within `bounds`; a note says so when it had to be moved."""
    number = as_number(value, name)
    if whole:
        number = round(number)
    low, high = bounds
    if low <= number <= high:
        return number
    moved = min(max(number, low), high)
    notes.append(
        f"{name} {format_number(number)} is outside {format_number(low)}..{format_number(high)}: "
        f"using {format_number(moved)}"
    )
    return moved


def format_number(number: float) -> str:
    """1024 -> '1,024', 0.0001 -> '0.0001', 1e+30 -> '1e+30'."""
    if float(number).is_integer() and abs(number) < 1e12:
        return f"{int(number):,}"
    return f"{number:g}"


def apply_caps(config: TrainConfig) -> tuple[TrainConfig, list[str]]:
    """The config cut down to the classroom limits, with a fixed number of steps, and a
    note for every cut. Raises `RunSettingsError` for what clamping cannot repair."""
    optimizer = str(config.optimizer).lower()
    if optimizer not in OPTIMIZERS:
        choices = ", ".join(OPTIMIZERS)
        raise RunSettingsError(f"Unknown optimizer {config.optimizer!r}; choose one of {choices}.")
    if config.init not in INITS:
        raise RunSettingsError(f"Start from 'random' or 'shipped', not {config.init!r}.")
    notes: list[str] = []
    hidden_size = capped(config.hidden_size, HIDDEN_RANGE, "hidden width", notes)
    if config.init == INIT_SHIPPED and hidden_size != HIDDEN_SIZE:
        notes.append(f"the shipped model has {HIDDEN_SIZE} hidden units, so this run has too")
        hidden_size = HIDDEN_SIZE
    if config.max_steps is not None:
        steps, epochs = capped(config.max_steps, (1, MAX_STEPS), "steps", notes), None
    else:
        epochs = capped(config.epochs, (0.01, MAX_EPOCHS), "epochs", notes, whole=False)
    lr = capped(config.lr, LR_RANGE, "learning rate", notes, whole=False)
    batch_size = capped(config.batch_size, BATCH_RANGE, "batch size", notes)
    all_images = TRAIN_IMAGES if config.train_size is None else config.train_size
    train_size = capped(all_images, TRAIN_SIZE_RANGE, "training images", notes)
    seed = capped(config.seed, SEED_RANGE, "seed", notes)
    if epochs is not None:
        steps = max(1, math.ceil(epochs * math.ceil(train_size / batch_size)))
    most = min(MAX_STEPS, MAX_SAMPLES // batch_size)
    if steps > most:
        notes.append(
            f"{steps:,} steps of {batch_size} images is more than one run may do: training "
            f"{most:,} steps ({most * batch_size / train_size:.3g} epochs)"
        )
        steps = most
    capped_config = replace(
        config,
        optimizer=optimizer,
        lr=lr,
        batch_size=batch_size,
        epochs=steps * batch_size / train_size,
        max_steps=steps,
        train_size=train_size,
        hidden_size=hidden_size,
        seed=seed,
        report_every=1,  # the run's thread looks at the clock and at Stop after every step
    )
    return capped_config, notes


def initial_model(config: TrainConfig) -> nn.Module:
    """A fresh model to train: random weights from the seed, or a copy of the shipped model.

    Never the model anyone is using: a run trains its own copy. Raises
    `checkpoint.CheckpointError` when the shipped model is asked for but missing.
    """
    if config.init == INIT_SHIPPED:
        return copy.deepcopy(shipped_model()).train()
    return make_model(config.hidden_size, seed=config.seed)


def expected_seconds(config: TrainConfig, samples_per_second: float) -> float:
    """About how long a capped run will take at this speed, its last evaluation included."""
    return min(MAX_SECONDS, config.max_steps * config.batch_size / samples_per_second) + 1.0


def describe(config: TrainConfig) -> str:
    """The settings that tell runs apart, in words: "Adam, lr 0.001, batch 64, ..."."""
    start = ", from the shipped model" if config.init == INIT_SHIPPED else ""
    bug = ", with the softmax bug" if config.softmax_bug else ""
    return (
        f"{OPTIMIZER_NAMES[config.optimizer]}, lr {config.lr:g}, batch {config.batch_size}, "
        f"{config.hidden_size} hidden, seed {config.seed}{start}{bug}"
    )


class Curves(NamedTuple):
    """A run's curves: every step's training loss, and the held-out measurements."""

    losses: list[float]  # training loss of every step
    eval_steps: list[int]  # the steps where the held-out images were measured
    eval_accuracies: list[float]
    eval_losses: list[float]


@dataclass(eq=False)
class RunRecord:
    """One run of one student: settings, curves, status and (once it ends) its model.

    A run's thread adds to the curves while the page reads them: both go through `lock`.
    """

    run_id: int
    config: TrainConfig  # after the caps: always a fixed number of steps
    notes: list[str] = field(default_factory=list)  # what the caps changed
    status: str = RUNNING
    message: str = ""
    losses: list[float] = field(default_factory=list)  # every step's training loss
    eval_steps: list[int] = field(default_factory=list)
    eval_accuracies: list[float] = field(default_factory=list)  # on the EVAL_SIZE test images
    eval_losses: list[float] = field(default_factory=list)  # cross-entropy on the same images
    samples_per_second: float = 0.0
    elapsed: float = 0.0  # seconds of training so far (at the last progress event)
    max_seconds: float = MAX_SECONDS  # the clock cap this run had
    clock_start: float | None = None  # time.perf_counter() when its clock started
    model: nn.Module | None = None  # set when the run ends with usable weights
    result: Evaluation | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_losses(self, losses: list[float]) -> None:
        with self.lock:
            self.losses.extend(losses)

    def add_evaluation(self, step: int, loss: float, accuracy: float) -> None:
        with self.lock:
            self.eval_steps.append(step)
            self.eval_losses.append(loss)
            self.eval_accuracies.append(accuracy)

    def curves(self) -> "Curves":
        """Copies of the run's curves, taken together."""
        with self.lock:
            return Curves(
                list(self.losses),
                list(self.eval_steps),
                list(self.eval_accuracies),
                list(self.eval_losses),
            )

    @property
    def total_steps(self) -> int:
        return self.config.max_steps

    @property
    def step(self) -> int:
        return len(self.losses)

    @property
    def label(self) -> str:
        return f"#{self.run_id} {describe(self.config)}"

    @property
    def legend(self) -> str:
        """A short name for plot legends: the number, optimizer and rate, and what else
        differs from the defaults."""
        config, default = self.config, TrainConfig()
        parts = [f"#{self.run_id} {OPTIMIZER_NAMES[config.optimizer]} lr {config.lr:g}"]
        if config.batch_size != default.batch_size:
            parts.append(f"batch {config.batch_size}")
        if config.hidden_size != default.hidden_size:
            parts.append(f"{config.hidden_size} hidden")
        if config.train_size != TRAIN_IMAGES:
            parts.append(f"{config.train_size:,} images")
        if config.seed != default.seed:
            parts.append(f"seed {config.seed}")
        if config.init == INIT_SHIPPED:
            parts.append("from shipped")
        if config.softmax_bug:
            parts.append("softmax bug")
        return ", ".join(parts)

    @property
    def color(self) -> str:
        return run_color(self.run_id)

    @property
    def has_model(self) -> bool:
        return self.model is not None

    def seconds_left(self) -> float:
        """Estimated time to the end: steps left at the speed so far, within the clock cap.
        The clock runs from the start even while the run gets no CPU time (a busy machine
        gives it only spare time): then only the clock says when it ends."""
        running = self.elapsed
        if self.clock_start is not None:
            running = max(running, time.perf_counter() - self.clock_start)
        on_clock = max(0.0, self.max_seconds - running)
        if self.step == 0 or self.elapsed <= 0:
            return on_clock
        by_speed = (self.total_steps - self.step) * self.elapsed / self.step
        return max(0.0, min(by_speed, on_clock))


@dataclass(eq=False)
class StudentSession:
    """Everything that belongs to one student (one browser session); nobody else sees it."""

    draw_model: nn.Module | None = None  # their own model in the Draw tab (None: shipped)
    draw_model_name: str | None = None  # how the Draw tab names it: "your run #2 (95.8%)"
    taught_steps: int = 0  # learning steps on their drawings since the shipped model
    meant: int | None = None  # the digit they say their drawing is (None: not chosen)
    drawings: dict = field(default_factory=dict)  # digit -> their last drawing of it (PNG)
    panels: set = field(default_factory=set)  # the Draw tab's open panels ("why", "inside")
    runs: list[RunRecord] = field(default_factory=list)  # the last MAX_RUNS_KEPT runs
    next_run_id: int = 1
    export_dir: str | None = None  # their download folder, removed with the session
    plots_sent: dict = field(default_factory=dict)  # what their browser's charts last got
    queued: bool = False  # a press of Train waits in the class's queue

    def start_run(self, config: TrainConfig, notes: list[str] | None = None) -> RunRecord:
        """A new record (the oldest runs beyond MAX_RUNS_KEPT go; the weights of runs
        beyond MAX_MODELS_KEPT go too, unless the Draw tab uses them)."""
        record = RunRecord(run_id=self.next_run_id, config=config, notes=list(notes or []))
        self.next_run_id += 1
        self.runs.append(record)
        del self.runs[:-MAX_RUNS_KEPT]
        for older in self.runs[:-MAX_MODELS_KEPT]:
            if older.model is not self.draw_model:
                older.model = None  # its curves and results stay; its weights go
        return record

    def find_run(self, run_id) -> RunRecord | None:
        return next((r for r in self.runs if str(r.run_id) == str(run_id)), None)

    def clear_finished(self) -> None:
        """Forget finished runs (a run still training stays); the Draw model stays."""
        self.runs[:] = [record for record in self.runs if record.status == RUNNING]

    def end(self) -> None:
        """The session is over: remove its download folder."""
        if self.export_dir:
            shutil.rmtree(self.export_dir, ignore_errors=True)


def reproduce_command(record: RunRecord) -> str | None:
    """The command line that trains the same weights again.

    Only for runs from random weights on all 60,000 images, the command line's defaults.
    """
    config = record.config
    if config.init != INIT_RANDOM or config.train_size != TRAIN_IMAGES:
        return None
    return (
        f"python -m mnist_demo.train --optimizer {config.optimizer} --lr {config.lr:g} "
        f"--batch-size {config.batch_size} --max-steps {record.step} "
        f"--hidden-size {config.hidden_size} --seed {config.seed}"
    )


def export_run(record: RunRecord, folder: Path) -> tuple[Path, Path]:
    """Write the run's weights (.pt) and JSON card (.json) into `folder`; returns both paths."""
    if record.model is None:
        raise RunSettingsError(
            f"Run #{record.run_id} has no weights to download ({record.status})."
        )
    path = Path(folder) / f"mnist_mlp_run{record.run_id}.pt"
    epochs = record.step * record.config.batch_size / record.config.train_size  # really trained
    details = {
        "training": asdict(replace(record.config, max_steps=record.step, epochs=epochs)),
        "run": {
            "label": record.label,
            "status": record.status,
            "steps": record.step,
            "train_images": f"the first {record.config.train_size:,} MNIST training images",
            "started_from": "the shipped model"
            if record.config.init == INIT_SHIPPED
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
