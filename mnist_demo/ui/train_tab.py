"""The Train tab: train the lesson's network from the browser and watch it learn.

A student picks an optimizer (Adam, as in the lesson, or SGD), a learning rate and how long
to train, or one of two comparisons of the optimizers; the training and test loss and the
test accuracy are drawn live, several runs overlaid, and a table puts the runs side by side.
After a run: the test accuracy, a confusion matrix, the misclassified digits, "use this
model in the Draw tab" and a download of the weights.

A class shares one machine: each run trains its own model in the student's session; runs
wait in the class's own queue (classroom/run_queue.py: one press per student, never in
Gradio's queue, so drawing never waits behind training) with the runs ahead and the time
left shown; one trains at a time, in a low-priority thread (classroom/background.py),
capped whatever is asked (classroom/runs.py). Stop cancels the event; the run's thread
then stops after its current step.

The handlers come first (the tests call them); `build_train_tab()` wires them; the
training event is public as `api_name="train"`.
"""

import asyncio
import math
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr

from mnist_demo.checkpoint import CheckpointError
from mnist_demo.classroom.background import ensure_result, follow_training
from mnist_demo.classroom.comparisons import runs_to_train
from mnist_demo.classroom.run_queue import (
    RUN_QUEUE,
    QueueRefused,
    RunPlan,
    Ticket,
    steady_wait,
    waiting_text,
)
from mnist_demo.classroom.runs import (
    DIVERGED,
    MAX_SECONDS,
    RUNNING,
    RunRecord,
    RunSettingsError,
    StudentSession,
    apply_caps,
    config_from_form,
    export_run,
    initial_model,
)
from mnist_demo.data import MNISTNotFoundError, shared_data
from mnist_demo.run_charts import accuracy_chart, loss_chart
from mnist_demo.train import TrainConfig
from mnist_demo.ui.run_views import (
    NO_RESULT,
    SHIPPED_IN_DRAW,
    TRAIN_READY,
    TRAIN_TAKEN,
    ResultView,
    RunView,
    draw_model_text,
    final_views,
    plot_updates,
    result_view,
    run_choices,
    runs_table,
    show_end,
    status_text,
)
from mnist_demo.ui.train_settings import Settings, main_settings, more_settings

TRAIN_CSS = (Path(__file__).with_name("static") / "train.css").read_text(encoding="utf-8")
WAIT_UPDATE_SECONDS = 1.0  # a waiting student's countdown moves this often
# A page that left this many updates unread has stopped listening (or never listened: a
# script): ~20 s of a waiting run's countdown, ~3 s of a training run's updates.
UNREAD_LIMIT = 20
STOP_WAIT_SECONDS = 2.0  # how long the Stop handler waits for the cancelled run to settle

INTRO = f"""
Train the lesson's network (784 → hidden → ReLU → 10) on MNIST and watch it learn. Each step
is the lesson's five lines: `optimizer.zero_grad()`, `logits = model(images)`,
`loss = loss_fn(logits, targets)`, `loss.backward()`, `optimizer.step()`.
- **Fair comparison**: Adam at 0.001, SGD at 0.1, SGD with momentum at 0.01, each at a rate
  that suits it: all three reach about 96% in one epoch.
- **Same rate for all three** (0.001): Adam still reaches 96%, plain SGD about 81%. Adam
  scales each weight's step by its gradient's recent size and SGD does not, so they need
  different rates: a fair comparison gives each its own.

Runs wait their turn (one press per student; the wait is shown under the button) and stop
after {MAX_SECONDS:g} s. Your runs live in this page: reloading it starts afresh.
"""

NO_DATA_HELP = (
    "### No MNIST data, so no training\n{error}\n\n"
    "To provide it: put the four MNIST files (`train-images-idx3-ubyte`, "
    "`train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, or "
    "their `.gz` versions) in a folder `<folder>/MNIST/raw/`, then start the app with the "
    "environment variable `MNIST_DATA_DIR=<folder>`. The Draw and Cross-entropy tabs work "
    "without it."
)


def configs_from_form(*form) -> tuple[list[TrainConfig], list[str]]:
    """The runs one press trains, capped, and the notes on what the caps changed.
    `form` is the settings in the order of `train_model`'s parameters."""
    *settings, comparison, softmax_bug = form
    try:
        config, notes = apply_caps(config_from_form(*settings, softmax_bug=softmax_bug))
        return runs_to_train(config, comparison), notes
    except (RunSettingsError, ValueError) as error:
        raise gr.Error(str(error)) from error


async def train_model(
    optimizer, lr, batch_size, unit, amount, train_size, hidden_size, seed, init,
    comparison, softmax_bug,
    session: StudentSession,
    request: gr.Request = None,
):  # fmt: skip
    """The training event: waits for its turn in the class's queue, then yields a `RunView`
    a few times a second while its run (or each run of a comparison) trains."""
    form = (optimizer, lr, batch_size, unit, amount, train_size, hidden_size, seed, init)
    configs, notes = configs_from_form(*form, comparison, softmax_bug)
    plan = RunPlan(list(configs), RUN_QUEUE)
    try:  # first, so that a press the queue cannot take costs next to nothing
        ticket = RUN_QUEUE.join(session, plan.seconds_left)
    except QueueRefused as error:
        gr.Warning(str(error))
        yield RunView(status=str(error), train_btn=TRAIN_READY)
        return
    session.queued = True
    try:
        yield RunView(status="Preparing the run...", train_btn=TRAIN_TAKEN)
        try:  # the first run loads MNIST: in a thread, the event loop serves the strokes
            train_set, test_set = await asyncio.to_thread(shared_data)
            models = await asyncio.to_thread(lambda: [initial_model(c) for c in configs])
        except (MNISTNotFoundError, CheckpointError) as error:
            gr.Warning("Training is not available: the Train tab says why.")
            session.queued = False
            yield RunView(status=unavailable_text(error), train_btn=TRAIN_READY)
            return
        async for view in wait_for_turn(ticket, request):
            yield view
        for config, model in zip(configs, models, strict=True):
            session.queued = False
            record = plan.start(session.start_run(config, notes))
            data = (train_set, test_set)
            async for view in follow_run(record, model, data, ticket, request):
                yield view
            if record.model is None:
                break  # diverged or failed: a comparison stops here
    finally:
        RUN_QUEUE.leave(ticket)
    if ticket.dropped or plan.current is None:
        return  # the page had gone: nobody to show it to
    if plan.current.status == DIVERGED:
        gr.Warning("The loss blew up: the learning rate is too large. Your model stays.")
    for view in await asyncio.to_thread(lambda: list(show_end(session, plan.current))):
        yield view


async def wait_for_turn(ticket: Ticket, request: gr.Request | None):
    """Yield the countdown until the ticket's turn; a page that stopped reading is dropped."""
    shown = (0, math.inf)  # the runs ahead and the wait last shown
    while not RUN_QUEUE.has_turn(ticket):
        if unread_updates(request) > UNREAD_LIMIT:
            RUN_QUEUE.leave(ticket)
            ticket.dropped = True
        if ticket.dropped:
            return
        shown = steady_wait(shown, RUN_QUEUE.ahead(ticket))
        yield RunView(status=waiting_text(*shown))
        await asyncio.sleep(WAIT_UPDATE_SECONDS)


async def follow_run(record: RunRecord, model, data, ticket: Ticket, request):
    """Yield the run's status and charts a few times a second while it trains; a page that
    stopped reading them has its run stopped."""
    async for _ in follow_training(record, model, *data, stop_when=lambda: ticket.dropped):
        RUN_QUEUE.has_turn(ticket)  # the page is still there
        if unread_updates(request) > UNREAD_LIMIT:
            ticket.dropped = True  # the run's thread stops after its current step
        if record.status != RUNNING:
            break
        yield RunView(
            status=status_text(record),
            **plot_updates(session_of(ticket)),
            runs_table=runs_table(session_of(ticket)),
        )
    if record.samples_per_second > 0:
        RUN_QUEUE.samples_per_second = record.samples_per_second  # for the next estimates


def session_of(ticket: Ticket) -> StudentSession:
    return ticket.owner


def unread_updates(request: gr.Request | None) -> int:
    """How many of this event's updates its page has not read yet (0 if unknown).

    A browser reads each update as it comes; a script that sends presses and never listens
    leaves them piling up in Gradio's per-session message queue.
    """
    try:
        queue = request.request.app.get_blocks()._queue
        messages = queue.pending_messages_per_session.get(request.session_hash)
        return messages.qsize() if messages is not None else 0
    except AttributeError:
        return 0


def unavailable_text(error: Exception) -> str:
    if isinstance(error, MNISTNotFoundError):
        return NO_DATA_HELP.format(error=error)
    return f"### The shipped model cannot be loaded\n{error}"


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
    if session.queued or not session.runs or session.runs[-1].status == RUNNING:
        # Nothing trained: the press was taken out of the queue before its turn.
        session.queued = False
        yield RunView(status="Stopped: your run was taken out of the queue.", train_btn=TRAIN_READY)
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


def build_train_tab(session: gr.State) -> list:
    """The tab's components and events; call inside `with gr.Tab("Train"):`. Returns the
    events that change the student's Draw tab model."""
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            settings, train_btn, stop_btn, status = _controls()
        with gr.Column(scale=3, min_width=320):
            loss_plot = _styled_html("train-loss", loss_chart([]))  # empty axes until a run
            accuracy_plot = _styled_html("train-accuracy", accuracy_chart([]))
            table = _styled_html("train-runs")
            clear_btn = gr.Button("Clear runs", size="sm")
    gr.Markdown("### After a run")
    run_choice, use_btn, shipped_btn, download_btn = _run_picker()
    draw_model_md = gr.Markdown(SHIPPED_IN_DRAW, label="Draw tab model")
    result = _result_panel()
    files = gr.File(
        label="Trained weights and their JSON card", file_count="multiple", visible=False
    )

    run_outputs = RunView(
        status, loss_plot, accuracy_plot, table, train_btn, run_choice, *result, session=session
    )
    train_event = train_btn.click(
        train_model,
        inputs=[*settings, session],
        outputs=list(run_outputs),
        api_name="train",
        concurrency_limit=None,  # runs wait in RUN_QUEUE, never in Gradio's queue
        show_progress="hidden",  # the status line has its own bar, and the queue's wait
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
    ).success(lambda: gr.update(visible=True), None, [files], api_visibility="private")
    return [  # the events that change this student's Draw tab model
        use_btn.click(
            use_in_draw, [run_choice, session], [draw_model_md, session], api_name="use_in_draw"
        ),
        shipped_btn.click(
            use_shipped, [session], [draw_model_md, session], api_name="use_shipped_in_draw"
        ),
    ]


def _controls() -> tuple[Settings, gr.Button, gr.Button, gr.Markdown]:
    """Train, Stop and the status line first, beside the charts; the settings under them."""
    with gr.Row():
        train_btn = gr.Button("Train", variant="primary", elem_id="train-btn")
        stop_btn = gr.Button("Stop", variant="stop")
    status = gr.Markdown("Press **Train** to start a run.", min_height=60, elem_id="train-status")
    comparison, optimizer, lr, unit, amount, softmax_bug = main_settings()
    batch_size, train_size, hidden_size, seed, init = more_settings(lr)
    settings = Settings(
        optimizer, lr, batch_size, unit, amount, train_size, hidden_size, seed, init,
        comparison, softmax_bug,
    )  # fmt: skip
    return settings, train_btn, stop_btn, status


def _styled_html(elem_id: str, value: str = "") -> gr.HTML:
    """An HTML output for a chart or table of run_charts.py / run_views.py, with its CSS."""
    return gr.HTML(value, elem_id=elem_id, css_template=TRAIN_CSS, js_on_load=None)


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


def _result_panel() -> ResultView:
    result = gr.Markdown(NO_RESULT, label="Result")
    with gr.Row():
        with gr.Column(min_width=300):
            gr.Markdown(
                "**Confusion matrix** on the test set: row = true digit, column = predicted"
            )
            confusion = _styled_html("train-confusion")
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
