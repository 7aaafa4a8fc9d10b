"""The Train tab: train the lesson's network from the browser and watch it learn.

A student picks an optimizer (Adam, as in the lesson, or SGD to compare), a learning rate,
a batch size and how long to train; the loss and the accuracy on held-out test images are
drawn live, several runs overlaid. After a run: the test accuracy, a confusion matrix, the
misclassified digits, "use this model in the Draw tab" and a download of the weights.

A class shares one machine: each run trains its own model in the student's session; one
run trains at a time (the others see their place in the queue), in a low-priority thread
(classroom/background.py), capped whatever is asked (classroom/runs.py). Stop cancels the
event; the run's thread then stops after its current step.

The handlers come first (the tests call them); `build_train_tab()` wires them; the
training event is public as `api_name="train"`.
"""

import inspect
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import gradio as gr

from mnist_demo.checkpoint import CheckpointError
from mnist_demo.classroom.background import ensure_result, run_training
from mnist_demo.classroom.runs import (
    BATCH_RANGE,
    DIVERGED,
    HIDDEN_RANGE,
    INIT_RANDOM,
    INIT_SHIPPED,
    LR_RANGE,
    MAX_EPOCHS,
    MAX_SECONDS,
    MAX_STEPS,
    RUNNING,
    STOPPED,
    TRAIN_SIZE_RANGE,
    RunSettingsError,
    StudentSession,
    apply_caps,
    config_from_form,
    export_run,
    initial_model,
)
from mnist_demo.constants import EVAL_SIZE, TRAIN_IMAGES
from mnist_demo.data import MNISTNotFoundError, shared_data
from mnist_demo.plots import accuracy_frame, loss_frame
from mnist_demo.train import TrainConfig
from mnist_demo.ui.run_views import (
    NO_RESULT,
    SHIPPED_IN_DRAW,
    ResultView,
    RunView,
    draw_model_text,
    final_views,
    plot_updates,
    result_view,
    run_choices,
    show_end,
    status_text,
    time_left,
)

TRAIN_CONCURRENCY = 1  # runs training at once: more made drawing and training slower
STOP_WAIT_SECONDS = 2.0  # how long the Stop handler waits for the cancelled run to settle

OPTIMIZER_CHOICES = [("Adam", "adam"), ("SGD", "sgd"), ("SGD with momentum 0.9", "momentum")]
INIT_CHOICES = [
    ("random weights (from the seed)", INIT_RANDOM),
    ("the shipped model", INIT_SHIPPED),
]
UNIT_CHOICES = ["epochs", "steps"]
BATCH_CHOICES = [16, 32, 64, 128, 256, 512]
DEFAULT = TrainConfig()

# The learning-rate slider moves 10^x, in the browser: 0.001, 0.0013, 0.0016, 0.002, ...
LR_EXPONENTS = (round(math.log10(LR_RANGE[0])), round(math.log10(LR_RANGE[1])))
EXPONENT_TO_LR_JS = "(x) => Number(Math.pow(10, x).toPrecision(2))"
LR_TO_EXPONENT_JS = (
    f"(lr) => Math.min({LR_EXPONENTS[1]}, Math.max({LR_EXPONENTS[0]}, "
    "Math.round(Math.log10(lr) * 10) / 10))"
)

INTRO = f"""
Train the lesson's network (784 → hidden → ReLU → 10) on MNIST and watch it learn. Each
step is the lesson's five lines: `optimizer.zero_grad()`, `logits = model(images)`,
`loss = loss_fn(logits, targets)`, `loss.backward()`, `optimizer.step()`.

**Try:** train with Adam, then with SGD, same seed: both start from the same weights and
see the same batches, so the curves show the optimizers alone. Then try a learning rate of 1.

The class shares one small computer: one run trains at a time (the others wait their
turn, with their place in the queue shown), and a run stops after {MAX_SECONDS:g} s at most.
"""

NO_DATA_HELP = (
    "### No MNIST data, so no training\n{error}\n\n"
    "To provide it: put the four MNIST files (`train-images-idx3-ubyte`, "
    "`train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, or "
    "their `.gz` versions) in a folder `<folder>/MNIST/raw/`, then start the app with the "
    "environment variable `MNIST_DATA_DIR=<folder>`. The Draw and Cross-entropy tabs work "
    "without it."
)


def train_model(
    optimizer: str,
    lr: float,
    batch_size: int,
    unit: str,
    amount: float,
    train_size: int,
    hidden_size: int,
    seed: int,
    init: str,
    session: StudentSession,
    progress=gr.Progress(),  # noqa: B008 (Gradio's way of asking for a progress bar)
):
    """The training event: yields a `RunView` a few times a second until the run ends."""
    try:
        config, notes = apply_caps(
            config_from_form(
                optimizer, lr, batch_size, unit, amount, train_size, hidden_size, seed, init
            )
        )
    except RunSettingsError as error:
        raise gr.Error(str(error)) from error
    yield RunView(status="Preparing the run...")  # the very first run also loads MNIST
    try:
        train_set, test_set = shared_data()
        model = initial_model(config)
    except (MNISTNotFoundError, CheckpointError) as error:
        gr.Warning("Training is not available: the Train tab says why.")
        if isinstance(error, MNISTNotFoundError):
            yield RunView(status=NO_DATA_HELP.format(error=error))
        else:
            yield RunView(status=f"### The shipped model cannot be loaded\n{error}")
        return

    record = session.start_run(config, notes)
    progress((0, record.total_steps), desc=f"Run #{record.run_id} starting", unit="steps")
    # Stop closes this generator at a `yield`; closing `events` then tells the run's thread
    # to stop after its current step (the run becomes STOPPED, see `after_stop`).
    events = run_training(record, model, train_set, test_set)
    try:
        yield RunView(status=status_text(record), **plot_updates(session))
        for record in events:
            if record.status != RUNNING:
                break
            progress(
                (record.step, record.total_steps),
                desc=f"Run #{record.run_id}: {record.samples_per_second:,.0f} samples/s, "
                f"{time_left(record)}",
                unit="steps",
            )
            yield RunView(status=status_text(record), **plot_updates(session))
    finally:
        if inspect.getgeneratorstate(events) == inspect.GEN_CREATED:  # its thread never ran
            record.status, record.message = STOPPED, "Stopped by you before it started."
        events.close()

    if record.status == DIVERGED:
        gr.Warning("The loss blew up: the learning rate is too large. Your model stays.")
    yield from show_end(session, record)


def after_stop(session: StudentSession):
    """The Stop button's handler: once the cancelled run has settled, show what it learnt.

    Gradio cancels the run just before (`cancels=`); this waits briefly for the run's thread
    to stop, then measures the stopped model on the test set (here, in a worker thread,
    not on the event loop where Gradio closed the cancelled generator). A run that ended
    on its own just before Stop is shown as it ended.
    """
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while any(r.status == RUNNING for r in session.runs) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not session.runs or session.runs[-1].status == RUNNING:
        yield RunView()  # nothing ran (the run was cancelled while still in the queue)
        return
    latest = session.runs[-1]
    if latest.result is None and latest.model is not None:
        _, test_set = shared_data()  # already loaded: the run used it
        ensure_result(latest, test_set)
    yield from show_end(session, latest)


def show_run(run_id, session: StudentSession) -> ResultView:
    """The result panel for the run picked in the dropdown."""
    record = session.find_run(run_id)
    if record is not None and record.result is None and record.model is not None:
        _, test_set = shared_data()
        ensure_result(record, test_set)
    return result_view(record)


def use_in_draw(run_id, session: StudentSession):
    """Make this student's Draw tab use a run's model (nobody else's changes)."""
    record = session.find_run(run_id)
    if record is None or record.model is None:
        raise gr.Error("Pick a run that has finished (or was stopped) first.")
    session.draw_model, session.taught_steps = record.model, 0
    accuracy = f" ({record.result.test_accuracy:.1%} on the test images)" if record.result else ""
    session.draw_model_name = f"your run #{record.run_id}{accuracy}"
    gr.Info(f"The Draw tab now uses your run #{record.run_id}.")
    return draw_model_text(session), session


def use_shipped(session: StudentSession):
    session.draw_model, session.draw_model_name, session.taught_steps = None, None, 0
    return draw_model_text(session), session


def download_weights(run_id, session: StudentSession) -> tuple[list[str], StudentSession]:
    """Write the run's weights (.pt) and JSON card into this session's own folder."""
    record = session.find_run(run_id)
    if record is None or record.model is None:
        raise gr.Error("Pick a run that has finished (or was stopped) first.")
    if session.export_dir is None or not Path(session.export_dir).is_dir():
        session.export_dir = tempfile.mkdtemp(prefix="mnist-train-")
    for old in Path(session.export_dir).iterdir():  # keep only the latest download on disk
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    weights, card = export_run(record, Path(session.export_dir))
    return [str(weights), str(card)], session


def clear_runs(session: StudentSession):
    """Forget finished runs (a run still training stays); the Draw tab keeps its model."""
    session.clear_finished()
    yield from final_views(session, "Runs cleared.", run_choices(session), ResultView())


class Settings(NamedTuple):
    """The settings panel's inputs, in the order of `train_model`'s parameters."""

    optimizer: gr.Radio
    lr: gr.Number
    batch_size: gr.Dropdown
    unit: gr.Radio
    amount: gr.Number
    train_size: gr.Slider
    hidden_size: gr.Slider
    seed: gr.Number
    init: gr.Radio


def build_train_tab(session: gr.State) -> list:
    """The tab's components and events; call inside `with gr.Tab("Train"):`. Returns the
    events that change the student's Draw tab model."""
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            settings = _settings_panel()
            with gr.Row():
                train_btn = gr.Button("Train", variant="primary")
                stop_btn = gr.Button("Stop", variant="stop")
        with gr.Column(scale=2, min_width=320):
            status, loss_plot, accuracy_plot = _progress_panel()
            clear_btn = gr.Button("Clear runs", size="sm")
    gr.Markdown("### After a run")
    run_choice, use_btn, shipped_btn, download_btn = _run_picker()
    draw_model_md = gr.Markdown(SHIPPED_IN_DRAW, label="Draw tab model")
    result = _result_panel()
    files = gr.File(label="Trained weights and their JSON card", file_count="multiple")

    run_outputs = RunView(status, loss_plot, accuracy_plot, run_choice, *result, session=session)
    train_event = train_btn.click(
        train_model,
        inputs=[*settings, session],
        outputs=list(run_outputs),
        api_name="train",
        concurrency_limit=TRAIN_CONCURRENCY,
        concurrency_id="train",
        show_progress="full",
        show_progress_on=[status],  # the bar and the queue position, not over the plots
    )
    # Cancel first, then show the stopped run: the browser sends the events of one click in
    # order and waits for each, so an `after_stop` on the same click would hold the cancel.
    stop_btn.click(None, cancels=[train_event]).then(
        after_stop, [session], list(run_outputs), api_visibility="private", show_progress="hidden"
    )
    clear_btn.click(
        clear_runs, [session], list(run_outputs), api_visibility="private", show_progress="hidden"
    )
    run_choice.input(show_run, [run_choice, session], list(result), api_visibility="private")
    download_btn.click(
        download_weights, [run_choice, session], [files, session], api_name="download_weights"
    )
    return [  # the events that change this student's Draw tab model
        use_btn.click(
            use_in_draw, [run_choice, session], [draw_model_md, session], api_name="use_in_draw"
        ),
        shipped_btn.click(
            use_shipped, [session], [draw_model_md, session], api_name="use_shipped_in_draw"
        ),
    ]


def _settings_panel() -> Settings:
    optimizer = gr.Radio(OPTIMIZER_CHOICES, value=DEFAULT.optimizer, label="Optimizer")
    lr_exponent = gr.Slider(
        *LR_EXPONENTS,
        value=round(math.log10(DEFAULT.lr)),
        step=0.1,
        label="Learning rate, log scale: 10^x",
        info="-4 is 0.0001, -3 is 0.001 (the lesson's Adam), 0 is 1",
    )
    lr = gr.Number(
        value=DEFAULT.lr,
        label=f"learning rate ({LR_RANGE[0]:g} to {LR_RANGE[1]:g})",
        elem_id="train-lr",
    )
    # The slider (log scale) and the number kept in step, in the browser only.
    lr_exponent.input(None, inputs=lr_exponent, outputs=lr, js=EXPONENT_TO_LR_JS)
    lr.input(None, inputs=lr, outputs=lr_exponent, js=LR_TO_EXPONENT_JS)
    batch_size = gr.Dropdown(
        BATCH_CHOICES,
        value=DEFAULT.batch_size,
        label=f"Batch size (images per step, up to {BATCH_RANGE[1]:,})",
        allow_custom_value=True,  # any size; the handler caps it
    )
    with gr.Row():
        unit = gr.Radio(UNIT_CHOICES, value="epochs", label="Train for")
        amount = gr.Number(
            value=DEFAULT.epochs,
            label=f"how many (up to {MAX_EPOCHS:g} epochs or {MAX_STEPS:,} steps)",
        )
    train_size = gr.Slider(
        *TRAIN_SIZE_RANGE,
        value=TRAIN_IMAGES,
        step=100,
        label=f"Training images used (the first N of MNIST's {TRAIN_IMAGES:,})",
    )
    hidden_size = gr.Slider(
        *HIDDEN_RANGE,
        value=DEFAULT.hidden_size,
        step=8,
        label="Hidden width (the lesson's network has 128)",
    )
    seed = gr.Number(
        value=DEFAULT.seed,
        precision=0,
        label="Seed (same seed: same initial weights, same batches)",
    )
    init = gr.Radio(INIT_CHOICES, value=DEFAULT.init, label="Start from")
    return Settings(optimizer, lr, batch_size, unit, amount, train_size, hidden_size, seed, init)


def _run_picker() -> tuple[gr.Dropdown, gr.Button, gr.Button, gr.Button]:
    with gr.Row():
        run_choice = gr.Dropdown(
            choices=[],
            value=None,
            label="Run",
            interactive=True,
            allow_custom_value=True,  # API callers name a run by number; the handlers check it
            scale=3,
            elem_id="train-run",
        )
        use_btn = gr.Button("Use this model in the Draw tab", scale=1)
        shipped_btn = gr.Button("Draw tab: back to the shipped model", scale=1)
        download_btn = gr.Button("Download weights + JSON", scale=1)
    return run_choice, use_btn, shipped_btn, download_btn


def _progress_panel() -> tuple[gr.Markdown, gr.LinePlot, gr.LinePlot]:
    status = gr.Markdown(
        "Press **Train** to start a run.", label="Status", min_height=60, elem_id="train-status"
    )
    loss_plot = gr.LinePlot(
        loss_frame({}),
        x="step",
        y="loss",
        color="run",
        x_title="step",
        y_title="training loss (smoothed)",
        label="Loss per step (cross-entropy, smoothed)",
        elem_id="train-loss",
    )
    accuracy_plot = gr.LinePlot(
        accuracy_frame({}),
        x="step",
        y="accuracy",
        color="run",
        y_lim=[0, 1],
        x_title="step",
        y_title="accuracy",
        label=f"Accuracy on {EVAL_SIZE:,} held-out test images",
        elem_id="train-accuracy",
    )
    return status, loss_plot, accuracy_plot


def _result_panel() -> ResultView:
    result = gr.Markdown(NO_RESULT, label="Result")
    with gr.Row():
        confusion = gr.Dataframe(
            label="Confusion matrix on the test set: row = true digit, column = predicted digit",
            interactive=False,
            column_widths=["10%"] + ["9%"] * 10,  # all ten predicted digits in view
            elem_id="train-confusion",
        )
        gallery = gr.Gallery(
            label="Misclassified test digits: true -> predicted (how sure), surest first",
            columns=4,
            height=360,
            object_fit="contain",
            elem_id="train-mistakes",
        )
    with gr.Accordion("What each hidden unit of this run looks for (fc1 weights)", open=False):
        templates = gr.HTML("", elem_id="train-templates")
    return ResultView(result, confusion, gallery, templates)
