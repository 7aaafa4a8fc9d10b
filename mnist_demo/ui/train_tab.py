"""The Train tab: train the lesson's network from the browser and watch it learn.

A student picks an optimizer (Adam, as in the lesson, or SGD to compare), a learning rate,
a batch size and how long to train; the loss and the accuracy on held-out test images are
drawn live, several runs overlaid. After a run: the test accuracy, a confusion matrix, the
misclassified digits, "use this model in the Draw tab" and a download of the weights.

A whole class shares one 2-core machine, so:
- each run trains its own model, kept in the student's session (`gr.State`); the MNIST
  tensors and the shipped model are loaded once and only read;
- one run trains at a time (`concurrency_id="train"`), in its own thread at a lower CPU
  priority than the Draw tab's requests; the others wait in the queue and see
  their place; every run is capped (`training_session.apply_caps` and a 30 s clock), also
  when called through the API;
- Stop cancels only this student's run, within a fraction of a second: the event yields
  every `UPDATE_SECONDS`; Gradio closes it there, which tells the run's thread to stop
  after its current step, so the model keeps the weights of its last whole step.

The handlers come first (the tests call them directly); `build_train_tab()` wires them.
The training event is public as `api_name="train"`.
"""

import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr

from mnist_demo.checkpoint import CheckpointError
from mnist_demo.data import MNISTNotFoundError
from mnist_demo.training_session import (
    BATCH_RANGE,
    DIVERGED,
    FAILED,
    HIDDEN_RANGE,
    INIT_RANDOM,
    INIT_SHIPPED,
    LR_RANGE,
    MAX_EPOCHS,
    MAX_SECONDS,
    MAX_STEPS,
    RUNNING,
    TRAIN_SIZE_RANGE,
    RunRecord,
    RunRequest,
    RunSettingsError,
    accuracy_frame,
    apply_caps,
    color_map,
    confusion_styler,
    describe,
    ensure_result,
    export_run,
    find_run,
    initial_model,
    learnt_nothing_note,
    loss_frame,
    reproduce_command,
    run_training,
    runs_of,
    shared_data,
    start_run,
)
from mnist_demo.ui.draw_tab import enlarge

# Runs training at once. Two cores: the app's own Python (one lock, the GIL, for all its
# threads) needs one for the class's strokes; a run takes the other. With two runs the two
# training threads and the server fought over the GIL: measured with
# benchmarks/classroom_load.py, the drawing students' p95 went from ~130 ms to ~510 ms, and
# each run trained 4x slower than one alone did. The others wait, seeing their place.
TRAIN_CONCURRENCY = 1
STOP_WAIT_SECONDS = 2.0  # how long the Stop handler waits for the cancelled run to settle
GALLERY_SCALE = 3  # 28x28 digits shown 84x84

OPTIMIZER_CHOICES = [("Adam", "adam"), ("SGD", "sgd"), ("SGD with momentum 0.9", "momentum")]
INIT_CHOICES = [
    ("random weights (from the seed)", INIT_RANDOM),
    ("the shipped model", INIT_SHIPPED),
]
UNIT_CHOICES = ["epochs", "steps"]
BATCH_CHOICES = [16, 32, 64, 128, 256, 512]
DEFAULT = RunRequest()

# The learning-rate slider moves 10^x; this runs in the browser (no server round trip) and
# rounds to 2 significant digits: 0.001, 0.0013, 0.0016, 0.002, ...
EXPONENT_TO_LR_JS = "(x) => Number(Math.pow(10, x).toPrecision(2))"
LR_TO_EXPONENT_JS = "(lr) => Math.min(0, Math.max(-4, Math.round(Math.log10(lr) * 10) / 10))"

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

NO_RESULT = "Train a run to see its results here."
SHIPPED_IN_DRAW = "**Draw tab model:** the shipped model (the same for everyone)."


# ---------------------------------------------------------------------------------------
# Views of a session: what the plots, the status and the result panel show
# ---------------------------------------------------------------------------------------


# Gradio 6.31's LinePlot fixes its set of series (the colour domain) when it builds the
# chart, and rebuilds only when a setting such as `color_map` changes; it rebuilds *before*
# taking the new data, so from the data of the update before. A run added later would
# never be drawn. So each update sends the colours of the series of the update before:
# the chart is rebuilt exactly when that set changed, from exactly that data; other
# updates only swap the data. Redrawing costs the browser tens of milliseconds, so an
# unchanged chart is not sent again, unless the last update rebuilt it (its data may then
# have been dropped). For the same reason a handler's last picture is sent twice
# (`_ending`).


def _plot(session: dict, name: str, frame, runs: list[RunRecord], force: bool = False):
    sent = session.setdefault("plots_sent", {})
    last = sent.get(name, {"colors": {}, "color_map": None, "signature": (0, ()), "rebuilt": False})
    signature = (len(frame), tuple(frame.tail(1).itertuples(index=False)))
    color_map_now = last["colors"]  # the colours of the series sent last time
    unchanged = signature == last["signature"] and color_map_now == last["color_map"]
    if unchanged and not last["rebuilt"] and not force:
        return gr.skip()
    colors = color_map(runs)
    sent[name] = {
        "colors": {label: colors[label] for label in frame["run"].unique()},
        "color_map": color_map_now,
        "signature": signature,
        "rebuilt": color_map_now != last["color_map"],
    }
    # An update dict, not a gr.LinePlot(...): building a component costs ~2.5 ms more.
    return gr.update(value=frame, color_map=color_map_now)


def _plots(session: dict, force: bool = False) -> tuple:
    """(loss plot, accuracy plot) of every run in the session, or gr.skip() if unchanged."""
    runs = runs_of(session)
    return (
        _plot(session, "loss", loss_frame(runs), runs, force),
        _plot(session, "accuracy", accuracy_frame(runs), runs, force),
    )


def run_choices(session: dict, selected: int | None = None) -> gr.Dropdown:
    """The runs that have a model (to inspect, use in Draw or download), newest first."""
    usable = [record for record in runs_of(session) if record.has_model]
    choices = [(record.label, record.run_id) for record in reversed(usable)]
    ids = [run_id for _, run_id in choices]
    if selected not in ids:
        selected = ids[0] if ids else None
    return gr.Dropdown(choices=choices, value=selected)


def progress_text(record: RunRecord) -> str:
    epoch = record.step * record.request.batch_size / record.request.train_size
    loss = f"{record.losses[-1]:.3f}" if record.losses else "-"
    return (
        f"**Run #{record.run_id}** ({describe(record.request)}): step {record.step:,} of "
        f"{record.total_steps:,} · epoch {epoch:.2f} · loss {loss} · "
        f"{record.samples_per_second:,.0f} samples/s · {time_left(record)}"
    )


def time_left(record: RunRecord) -> str:
    seconds = record.seconds_left()
    return "under 1 s left" if seconds < 1 else f"about {seconds:.0f} s left"


def status_text(record: RunRecord) -> str:
    """What the status line says about a run, with the caps it had applied to it."""
    if record.status == RUNNING:
        text = progress_text(record)
    elif record.status == DIVERGED:
        text = f"### ⚠️ Run #{record.run_id} diverged\n{record.message}"
    elif record.status == FAILED:
        text = f"### Run #{record.run_id} failed\n{record.message}"
    else:
        text = f"**Run #{record.run_id}** ({describe(record.request)}): {record.message}"
    if record.notes:
        text += "\n\n*Capped to the classroom limits:* " + "; ".join(record.notes) + "."
    return text


def result_view(record: RunRecord | None):
    """(result Markdown, confusion matrix, gallery) of one run."""
    if record is None or record.result is None:
        return NO_RESULT, None, []
    result = record.result
    text = (
        f"### Run #{record.run_id}: {result.test_accuracy:.1%} test accuracy\n"
        f"On all {result.test_images:,} test images (guessing gives 10%). {record.message}"
    )
    note = learnt_nothing_note(record)
    if note is not None:
        text += f"\n\n⚠️ {note}"
    command = reproduce_command(record)
    if command is not None:
        text += f"\n\nThe same run from the command line:\n```\n{command}\n```"
    gallery = [
        (enlarge(mistake.image, GALLERY_SCALE), mistake.caption) for mistake in result.mistakes
    ]
    return text, confusion_styler(result.confusion), gallery


def draw_model_text(session: dict) -> str:
    model = session.get("draw_model")
    for record in runs_of(session):
        if model is not None and record.model is model:
            accuracy = f", {record.result.test_accuracy:.1%} test accuracy" if record.result else ""
            return (
                f"**Draw tab model:** your run #{record.run_id} ({describe(record.request)}"
                f"{accuracy}). Only you see it; the others keep theirs."
            )
    if model is not None:
        return "**Draw tab model:** one of your earlier runs. Only you see it."
    return SHIPPED_IN_DRAW


# ---------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------


# Outputs of the run events, in order: status, loss plot, accuracy plot, run choices,
# result, confusion matrix, gallery, session. gr.skip() leaves an output as it is.
_SKIP = (gr.skip(),) * 8


def _show_end(session: dict, record: RunRecord):
    """How a run ended, with its results if it has a model."""
    if record.model is None:  # diverged or failed: the result panel keeps the last run
        yield from _ending(session, status_text(record), run_choices(session), *_SKIP[4:7])
    else:
        choices = run_choices(session, record.run_id)
        yield from _ending(session, status_text(record), choices, *result_view(record))


def _ending(session: dict, status: str, choices, result, confusion, gallery):
    """The last two updates of a run event: the plots first, then everything (plots again,
    see `_plot`). The last one is also what an API caller gets as the result.

    The run choices come with the first, together with the status that says the run has
    ended: a student who clicked "Use this model" between the two got "Pick a run that has
    finished" (seen in the browser test).
    """
    yield (status, *_plots(session), choices, *_SKIP[4:])
    yield (status, *_plots(session, force=True), choices, result, confusion, gallery, session)


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
    session: dict,
    progress=gr.Progress(),  # noqa: B008 (Gradio's way of asking for a progress bar)
):
    """The training event: yields (status, loss plot, accuracy plot, run choices, result,
    confusion matrix, gallery, session) a few times a second until the run ends."""
    request = RunRequest(
        optimizer, lr, batch_size, unit, amount, train_size, hidden_size, seed, init
    )
    try:
        request, notes = apply_caps(request)
    except RunSettingsError as error:
        raise gr.Error(str(error)) from error
    yield ("Preparing the run...", *_SKIP[1:])  # the very first run also loads MNIST
    try:
        train_set, test_set = shared_data()
        model = initial_model(request)
    except (MNISTNotFoundError, CheckpointError) as error:
        gr.Warning("Training is not available: the Train tab says why.")
        if isinstance(error, MNISTNotFoundError):
            yield (NO_DATA_HELP.format(error=error), *_SKIP[1:])
        else:
            yield (f"### The shipped model cannot be loaded\n{error}", *_SKIP[1:])
        return

    record = start_run(session, request, notes)
    progress((0, record.total_steps), desc=f"Run #{record.run_id} starting", unit="steps")
    yield (status_text(record), *_plots(session), *_SKIP[3:])

    # Stop closes this generator at a `yield`; closing `events` then tells the run's thread
    # to stop after its current step (the run becomes STOPPED, see `after_stop`).
    events = run_training(record, model, train_set, test_set)
    try:
        for record in events:
            if record.status != RUNNING:
                break
            progress(
                (record.step, record.total_steps),
                desc=f"Run #{record.run_id}: {record.samples_per_second:,.0f} samples/s, "
                f"{time_left(record)}",
                unit="steps",
            )
            yield (status_text(record), *_plots(session), *_SKIP[3:])
    finally:
        events.close()

    if record.status == DIVERGED:
        gr.Warning("The loss blew up: the learning rate is too large. Your model stays.")
    yield from _show_end(session, record)


def after_stop(session: dict):
    """The Stop button's handler: once the cancelled run has settled, show what it learnt.

    Gradio cancels the run just before (`cancels=`); this waits briefly for the run's thread
    to stop, then measures the stopped model on the test set (here, in a worker thread,
    not on the event loop where Gradio closed the cancelled generator). A run that ended
    on its own just before Stop is shown as it ended.
    """
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while any(r.status == RUNNING for r in runs_of(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    runs = runs_of(session)
    if not runs or runs[-1].status == RUNNING:
        yield _SKIP  # nothing ran (the run was cancelled while still in the queue)
        return
    latest = runs[-1]
    if latest.result is None and latest.model is not None:
        _, test_set = shared_data()  # already loaded: the run used it
        ensure_result(latest, test_set)
    yield from _show_end(session, latest)


def show_run(run_id, session: dict):
    """The result panel for the run picked in the dropdown."""
    record = find_run(session, run_id)
    if record is not None and record.result is None and record.model is not None:
        _, test_set = shared_data()
        ensure_result(record, test_set)
    return result_view(record)


def use_in_draw(run_id, session: dict):
    """Make this student's Draw tab use a run's model (nobody else's changes)."""
    record = find_run(session, run_id)
    if record is None or record.model is None:
        raise gr.Error("Pick a run that has finished (or was stopped) first.")
    session["draw_model"] = record.model
    gr.Info(f"The Draw tab now uses your run #{record.run_id}.")
    return draw_model_text(session), session


def use_shipped(session: dict):
    session["draw_model"] = None
    return draw_model_text(session), session


def download_weights(run_id, session: dict) -> tuple[list[str], dict]:
    """Write the run's weights (.pt) and JSON card into this session's own folder."""
    record = find_run(session, run_id)
    if record is None or record.model is None:
        raise gr.Error("Pick a run that has finished (or was stopped) first.")
    folder = session.get("export_dir")
    if folder is None or not Path(folder).is_dir():
        folder = session["export_dir"] = tempfile.mkdtemp(prefix="mnist-train-")
    for old in Path(folder).iterdir():  # keep only the latest download on disk
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    weights, card = export_run(record, Path(folder))
    return [str(weights), str(card)], session


def clear_runs(session: dict):
    """Forget finished runs (a run still training stays); the Draw tab keeps its model."""
    runs = runs_of(session)
    runs[:] = [record for record in runs if record.status == RUNNING]
    yield from _ending(session, "Runs cleared.", run_choices(session), *result_view(None))


# ---------------------------------------------------------------------------------------
# The tab
# ---------------------------------------------------------------------------------------


def build_train_tab(session: gr.State) -> None:
    """The tab's components and events; call inside `with gr.Tab("Train"):`."""
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            optimizer = gr.Radio(OPTIMIZER_CHOICES, value=DEFAULT.optimizer, label="Optimizer")
            lr_exponent = gr.Slider(
                -4,
                0,
                value=-3,
                step=0.1,
                label="Learning rate, log scale: 10^x",
                info="-4 is 0.0001, -3 is 0.001 (the lesson's Adam), 0 is 1",
            )
            lr = gr.Number(
                value=DEFAULT.lr,
                label=f"learning rate ({LR_RANGE[0]:g} to {LR_RANGE[1]:g})",
                elem_id="train-lr",
            )
            batch_size = gr.Dropdown(
                BATCH_CHOICES,
                value=DEFAULT.batch_size,
                label=f"Batch size (images per step, up to {BATCH_RANGE[1]:,})",
                allow_custom_value=True,  # any size; the handler caps it
            )
            with gr.Row():
                unit = gr.Radio(UNIT_CHOICES, value=DEFAULT.unit, label="Train for")
                amount = gr.Number(
                    value=DEFAULT.amount,
                    label=f"how many (up to {MAX_EPOCHS:g} epochs or {MAX_STEPS:,} steps)",
                )
            train_size = gr.Slider(
                *TRAIN_SIZE_RANGE,
                value=DEFAULT.train_size,
                step=100,
                label="Training images used (the first N of MNIST's 60,000)",
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
            with gr.Row():
                train_btn = gr.Button("Train", variant="primary")
                stop_btn = gr.Button("Stop", variant="stop")
        with gr.Column(scale=2, min_width=320):
            status = gr.Markdown(
                "Press **Train** to start a run.",
                label="Status",
                min_height=60,
                elem_id="train-status",
            )
            loss_plot = gr.LinePlot(
                loss_frame([]),
                x="step",
                y="loss",
                color="run",
                x_title="step",
                y_title="training loss (smoothed)",
                label="Loss per step (cross-entropy, smoothed)",
                elem_id="train-loss",
            )
            accuracy_plot = gr.LinePlot(
                accuracy_frame([]),
                x="step",
                y="accuracy",
                color="run",
                y_lim=[0, 1],
                x_title="step",
                y_title="accuracy",
                label="Accuracy on 1,000 held-out test images",
                elem_id="train-accuracy",
            )
            clear_btn = gr.Button("Clear runs", size="sm")

    gr.Markdown("### After a run")
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
    draw_model_md = gr.Markdown(SHIPPED_IN_DRAW, label="Draw tab model")
    result_md = gr.Markdown(NO_RESULT, label="Result")
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
    files = gr.File(label="Trained weights and their JSON card", file_count="multiple")

    # The learning rate: slider (log scale) and number kept in step, in the browser only.
    lr_exponent.input(None, inputs=lr_exponent, outputs=lr, js=EXPONENT_TO_LR_JS)
    lr.input(None, inputs=lr, outputs=lr_exponent, js=LR_TO_EXPONENT_JS)

    run_outputs = [
        status,
        loss_plot,
        accuracy_plot,
        run_choice,
        result_md,
        confusion,
        gallery,
        session,
    ]
    train_event = train_btn.click(
        train_model,
        inputs=[
            optimizer,
            lr,
            batch_size,
            unit,
            amount,
            train_size,
            hidden_size,
            seed,
            init,
            session,
        ],
        outputs=run_outputs,
        api_name="train",
        concurrency_limit=TRAIN_CONCURRENCY,
        concurrency_id="train",
        show_progress="full",
        show_progress_on=[status],  # the bar and the queue position, not over the plots
    )
    # Cancel first, then show the stopped run: the browser sends the events of one click in
    # order and waits for each, so an `after_stop` on the same click would hold the cancel.
    stop_btn.click(None, cancels=[train_event]).then(
        after_stop,
        inputs=[session],
        outputs=run_outputs,
        api_visibility="private",
        show_progress="hidden",
    )
    clear_btn.click(
        clear_runs,
        inputs=[session],
        outputs=run_outputs,
        api_visibility="private",
        show_progress="hidden",
    )
    run_choice.input(
        show_run,
        inputs=[run_choice, session],
        outputs=[result_md, confusion, gallery],
        api_visibility="private",
    )
    use_btn.click(
        use_in_draw,
        inputs=[run_choice, session],
        outputs=[draw_model_md, session],
        api_name="use_in_draw",
    )
    shipped_btn.click(
        use_shipped,
        inputs=[session],
        outputs=[draw_model_md, session],
        api_name="use_shipped_in_draw",
    )
    download_btn.click(
        download_weights,
        inputs=[run_choice, session],
        outputs=[files, session],
        api_name="download_weights",
    )
