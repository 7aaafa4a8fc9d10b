"""The Train tab: its handlers called directly, then the launched app through gradio_client
(two Client objects are two students).

The run events' outputs are read by name: the handlers yield `RunView`s, and an API
caller's output list is turned into one by `api_view`.
"""

import asyncio
import functools
import json
import re
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError

from mnist_demo import data
from mnist_demo.classroom import background
from mnist_demo.classroom.runs import (
    BATCH_RANGE,
    CAPPED,
    DIVERGED,
    FINISHED,
    MAX_SAMPLES,
    RUNNING,
    STOPPED,
    StudentSession,
    apply_caps,
    config_from_form,
)
from mnist_demo.evaluate import GALLERY_SIZE, Evaluation
from mnist_demo.model import make_model
from mnist_demo.ui import train_tab
from mnist_demo.ui.app import build_demo, new_session
from mnist_demo.ui.draw_tab import classify_drawing
from mnist_demo.ui.run_views import NO_RESULT, RunView, result_view
from mnist_demo.ui.train_tab import train_model

from conftest import serving
from helpers import SEVEN, TRAIN_INPUTS, train_settings, wait_until
from html_outputs import column, read_bars, read_table

# A short run on few images: what most tests train (the tab's own default is one epoch).
QUICK = {"unit": "steps", "amount": 100, "train_size": 2000}
# A run far longer than any test waits for: it is stopped or cancelled.
LONG = {"unit": "epochs", "amount": 10, "train_size": 60000}


def quick(**overrides) -> list:
    """The `/train` inputs of a QUICK run, with `overrides`."""
    return train_settings(**(QUICK | overrides))


def train(session: StudentSession, **overrides) -> list[RunView]:
    """Every update of a QUICK run (with `overrides`), the handler called directly."""
    return collect(train_model(*quick(**overrides), session=session))


def collect(events, first: int | None = None) -> list:
    """The updates of the async training event, all of them or the `first` few; then the
    event is closed, as Gradio closes it when the student presses Stop."""

    async def run():
        views = []
        try:
            async for view in events:
                views.append(view)
                if first is not None and len(views) >= first:
                    break
        finally:
            await events.aclose()
        return views

    return asyncio.run(run())


def is_skip(value) -> bool:
    """gr.skip(): this update leaves the output as it is."""
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def probabilities(session: StudentSession) -> list[float]:
    """The ten bars of this session's Draw tab for the drawn seven."""
    return [bar["probability"] for bar in read_bars(classify_drawing(SEVEN, session).bars)]


# ---------------------------------------------------------------------------------------
# Handlers, called directly
# ---------------------------------------------------------------------------------------


def test_a_run_streams_progress_then_shows_its_results(mnist_dir, monkeypatch):
    monkeypatch.setattr(background, "UPDATE_SECONDS", 0.01)  # report often
    session = new_session()
    outputs = train(session, amount=100)
    live = [o for o in outputs if "step" in o.status and "samples/s" in o.status]
    assert len(live) >= 3
    assert "step 0 of 100" in live[0].status
    steps = [int(re.search(r"step (\d+) of", o.status).group(1)) for o in live]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    assert "samples/s" in live[-1].status and "left" in live[-1].status
    final = outputs[-1]  # also what an API caller gets
    accuracy = float(re.search(r"([\d.]+)% test accuracy", final.result).group(1))
    assert accuracy > 60  # chance is 10%
    assert final.session is session
    assert len(final.gallery) == GALLERY_SIZE
    assert final.confusion.count("<tr>") == 11  # the header and one row per true digit
    assert "#train-loss" not in final.loss_plot and "run-line train" in final.loss_plot
    assert "run-line test" in final.loss_plot and "ln 10 = 2.30" in final.loss_plot
    assert "<td>100</td>" in final.runs_table  # steps, in the table of runs
    assert "fc1" in final.templates and 'alt="first-layer weights' in final.templates
    (record,) = session.runs
    assert final.run_choice.choices == [(record.label, record.run_id)]
    assert session.draw_model is None  # training never swaps the Draw model by itself
    # The first update that says the run has ended already lets the student pick it.
    first_end = next(o for o in outputs if "Trained 100 steps" in o.status)
    assert first_end.run_choice.choices == [(record.label, record.run_id)]


def test_stop_then_shows_what_the_stopped_run_learnt(mnist_dir):
    session = new_session()
    long_run = train_settings(**(LONG | {"amount": 5}))
    events = train_model(*long_run, session=session)
    collect(events, first=3)  # preparing, step 0, one live update; then Stop
    *_, final = train_tab.after_stop(session)
    (record,) = session.runs
    assert record.status == STOPPED and "Stopped by you" in final.status
    assert "test accuracy" in final.result and len(final.gallery) == GALLERY_SIZE
    assert final.run_choice.choices == [(record.label, record.run_id)]
    assert final.session is session


def test_stop_at_the_first_update_leaves_no_run_running(mnist_dir):
    """Regression: closed at its "step 0" update, the event never started the run's thread,
    and the run stayed "running" for good (every later Stop waited 2 s; Clear kept it).
    Now the first update comes once the thread runs, so Stop always reaches it."""
    session = new_session()
    collect(train_model(*train_settings(**LONG), session=session), 2)
    (record,) = session.runs
    wait_until(lambda: record.status != RUNNING, timeout=2)
    assert record.status == STOPPED and record.step < record.total_steps
    *_, final = train_tab.after_stop(session)
    assert "Stopped by you" in final.status
    session.clear_finished()
    assert session.runs == []


def test_a_press_waits_in_the_class_queue_with_the_runs_ahead_and_can_leave(mnist_dir):
    first, second = new_session(), new_session()

    async def scenario():
        running = train_model(*train_settings(**LONG), session=first)
        await anext(running)  # preparing
        await anext(running)  # its turn: step 0
        waiting = train_model(*quick(), session=second)
        taken, queued = await anext(waiting), await anext(waiting)
        again = [view async for view in train_model(*quick(), session=second)]
        await waiting.aclose()  # Stop while waiting
        await running.aclose()
        return taken, queued, again

    taken, queued, again = asyncio.run(scenario())
    assert taken.train_btn["interactive"] is False  # the press shows it was taken
    assert "1 run ahead of you, about" in queued.status and second.runs == []
    assert "already in the queue" in again[-1].status  # one press per student
    assert len(train_tab.RUN_QUEUE) == 0  # both left the class's queue
    *_, final = train_tab.after_stop(second)
    assert "taken out of the queue" in final.status and final.train_btn["interactive"]


def test_a_comparison_trains_each_optimizer_at_its_rate(mnist_dir):
    session = new_session()
    train(session, comparison="fair", amount=30)
    configs = [(record.config.optimizer, record.config.lr) for record in session.runs]
    assert configs == [("adam", 0.001), ("sgd", 0.1), ("momentum", 0.01)]
    assert len({record.config.seed for record in session.runs}) == 1


def test_the_softmax_bug_switch_trains_with_the_bug(mnist_dir):
    session = new_session()
    outputs = train(session, softmax_bug=True, amount=100)
    (record,) = session.runs
    assert record.config.softmax_bug and "softmax bug" in record.legend
    # Softmax squeezes the loss's input into 0..1: the loss stays between 1.46 and 2.30.
    assert all(1.46 <= loss <= 2.31 for loss in record.losses)
    assert "softmax bug" in outputs[-1].runs_table


def test_divergence_explains_itself_and_the_previous_model_stays(mnist_dir):
    session = new_session()
    previous = make_model(seed=1)
    session.draw_model = previous
    outputs = train(session, optimizer="momentum", lr=1.0, batch_size=1, amount=2000)
    status = outputs[-1].status
    assert "diverged" in status and "learning rate" in status and "too large" in status
    assert session.draw_model is previous
    (record,) = session.runs
    assert record.status == DIVERGED and record.model is None
    assert outputs[-1].run_choice.choices == []  # nothing to use or download
    assert all(is_skip(o.result) for o in outputs)  # the result panel keeps the last run


def test_use_in_draw_changes_this_sessions_predictions_only(mnist_dir):
    mine, theirs = new_session(), new_session()
    train(mine, optimizer="sgd", lr=1e-4, amount=5)  # barely trained: answers differ
    (record,) = mine.runs
    before = probabilities(mine)
    text, session = train_tab.use_in_draw(record.run_id, mine)
    assert session is mine and mine.draw_model is record.model
    assert f"run #{record.run_id}" in text
    after, others = probabilities(mine), probabilities(theirs)
    assert after != pytest.approx(before, abs=1e-3)
    assert others == pytest.approx(before)  # the shipped model, as before
    text, _ = train_tab.use_shipped(mine)
    assert mine.draw_model is None and "shipped" in text


def test_download_gives_weights_and_their_card(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the session's folder goes
    session = new_session()
    train(session, amount=20)
    (record,) = session.runs
    files, returned = train_tab.download_weights(record.run_id, session)
    assert returned is session
    weights, card = files
    assert weights.endswith(".pt") and card.endswith(".json")
    assert Path(weights).parent.parent == tmp_path
    assert json.loads(Path(card).read_text())["run"]["steps"] == 20
    files_again, _ = train_tab.download_weights(str(record.run_id), session)
    assert files_again == files  # the session's folder holds only the latest download
    assert sorted(p.name for p in Path(weights).parent.iterdir()) == sorted(
        Path(f).name for f in files
    )
    with pytest.raises(gr.Error):
        train_tab.download_weights(99, session)


def test_without_mnist_the_tab_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    # No download attempt: shared_data() reads through data.load_mnist.
    monkeypatch.setattr(data, "load_mnist", functools.partial(data.load_mnist, download=False))
    session = new_session()
    preparing, output = train(session)
    assert "Preparing" in preparing.status
    assert "No MNIST data" in output.status and "MNIST_DATA_DIR" in output.status
    assert str(tmp_path) in output.status
    assert session.runs == []
    # The Draw tab needs no data set.
    assert "The network says" in classify_drawing(SEVEN, session).answer


def test_bad_settings_are_a_clear_error():
    with pytest.raises(gr.Error, match="Unknown optimizer"):
        train(new_session(), optimizer="rmsprop")


def test_clear_runs_forgets_finished_runs(mnist_dir):
    session = new_session()
    train(session, amount=5)
    (last,) = list(train_tab.clear_runs(session))
    assert session.runs == [] and last.run_choice.choices == []
    assert "run-line" not in last.loss_plot and last.result == NO_RESULT
    assert last.runs_table == ""


def test_the_result_panel_explains_a_run_that_learnt_nothing():
    config, _ = apply_caps(config_from_form(optimizer="momentum", lr=1.0))
    record = StudentSession().start_run(config)
    record.result = Evaluation(
        test_accuracy=0.098,
        confusion=torch.zeros(10, 10, dtype=torch.long),
        mistakes=[],
        test_images=10_000,
        dead_units=120,
        hidden_units=128,
    )
    text = result_view(record).result
    assert "learnt next to nothing" in text and "120 of its 128 hidden ReLU units" in text


def test_no_data_does_not_break_building_the_tab(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))

    def no_reading(*args, **kwargs):
        raise AssertionError("building the app read MNIST")

    monkeypatch.setattr(data, "load_mnist", no_reading)
    demo = build_demo()  # builds without touching MNIST
    assert any(fn.api_name == "train" for fn in demo.fns.values())


# ---------------------------------------------------------------------------------------
# The launched app, through gradio_client
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory, mnist_dir):
    """The real app (`build_demo()`, all three tabs), launched in this process.

    As `prepare_to_serve` sets it up, one torch thread per request; its other steps (the
    forked stroke process, the frozen garbage collector) are left out: they would outlive
    this module, and strokes from a student's own model are answered in the server anyway.
    """
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    demo = build_demo()
    try:
        with serving(demo):
            yield demo
    finally:
        torch.set_num_threads(threads)
        monkeypatch.undo()


def student(demo: gr.Blocks) -> Client:
    """A new browser session, as an API client (output files are not downloaded)."""
    return Client(demo.local_url, verbose=False, download_files=False)


def session_of(demo: gr.Blocks, client: Client) -> StudentSession:
    """The server's session of a client (what the app's gr.State holds for that student)."""
    (state,) = [
        block
        for block in demo.blocks.values()
        if isinstance(block, gr.State) and block.value is new_session
    ]
    return demo.state_holder[client.session_hash][state._id]


def api_view(output) -> RunView:
    """One update of `/train` as an API caller gets it, by name (the session's gr.State and
    the Train button are not sent to callers: those stay unset)."""
    sent = [name for name in RunView._fields if name not in ("session", "train_btn")]
    assert len(output) == len(sent)
    return RunView(**dict(zip(sent, output, strict=True)))


def views(job) -> list[RunView]:
    return [api_view(output) for output in job.outputs()]


def logits(client: Client, canvas: str) -> list[float]:
    """What this client's Draw tab answers: the ten logits of its numbers table."""
    numbers = client.predict(canvas, api_name="/predict")[3]  # answer, bars, seen, numbers
    return [float(text) for text in column(read_table(numbers), "logit")]


slow = pytest.mark.slow


@slow
def test_api_run_streams_and_ends_better_than_chance(app):
    client = student(app)
    job = client.submit(*quick(amount=300), api_name="/train")
    job.result(timeout=60)
    outputs = views(job)
    assert len(outputs) >= 3
    assert "Preparing" in outputs[0].status and "step 0 of 300" in outputs[1].status
    assert "test accuracy" in outputs[-1].result  # the last update carries everything
    (record,) = session_of(app, client).runs
    assert record.status == FINISHED and record.result.test_accuracy > 0.8


@slow
def test_stop_cancels_within_a_second_and_leaves_a_usable_model(app):
    me, other = student(app), student(app)
    other_job = other.submit(*quick(amount=300), api_name="/train")
    job = me.submit(*train_settings(**LONG), api_name="/train")
    wait_until(lambda: any(re.search(r"step \d+ of", o.status) for o in views(job)), 30)
    (record,) = session_of(app, me).runs
    job.cancel()
    assert wait_until(lambda: record.status != RUNNING, timeout=1.0) < 1.0
    assert record.status == STOPPED and 0 < record.step < record.total_steps
    assert all(torch.isfinite(p).all() for p in record.model.parameters())

    # The stopped model can be used in the Draw tab, by this student only.
    shipped = logits(other, SEVEN)
    text = me.predict(record.run_id, api_name="/use_in_draw")
    assert f"run #{record.run_id}" in text
    assert session_of(app, me).draw_model is record.model
    assert logits(me, SEVEN) != pytest.approx(shipped, abs=1e-2)
    assert logits(other, SEVEN) == pytest.approx(shipped)

    other_job.result(timeout=60)  # the other student's run was not touched
    (theirs,) = session_of(app, other).runs
    assert theirs.status == FINISHED and theirs.step == 300


@slow
def test_caps_hold_against_oversize_api_requests(app, monkeypatch):
    # The real cap is 30 s; the test waits 1. run_training reads it from its own module.
    monkeypatch.setattr(background, "MAX_SECONDS", 1.0)
    client = student(app)
    oversize = train_settings(
        optimizer="sgd",  # Adam at lr 1 blows up within a few steps (another test)
        lr=100.0,
        batch_size=10**6,
        unit="epochs",
        amount=1e9,
        train_size=60000,
        hidden_size=1024,
        seed=-5,
    )
    start = time.monotonic()
    status = api_view(client.predict(*oversize, api_name="/train")).status
    assert time.monotonic() - start < 10
    assert "Stopped at the 1 s limit" in status and "Capped to the classroom limits" in status
    (record,) = session_of(app, client).runs
    assert record.status == CAPPED and record.elapsed < 1.5
    assert record.config.lr == 1.0 and record.config.batch_size == BATCH_RANGE[1]
    assert record.total_steps * record.config.batch_size <= MAX_SAMPLES
    # Sliders refuse values outside their range before the handler runs.
    with pytest.raises(AppError):
        client.predict(*quick(hidden_size=10**6), api_name="/train")


@slow
def test_two_students_press_train_together_and_see_only_their_own(app):
    """Both runs are taken; one trains at a time (the class's queue, on 2 cores), and each
    student gets their own model."""
    alice, bob = student(app), student(app)
    running = {}

    def watch(name, job):
        while not job.done():
            if any("step" in o.status and "step 0 of" not in o.status for o in views(job)):
                running.setdefault(name, time.monotonic())
            time.sleep(0.01)
        running[name + " done"] = time.monotonic()

    jobs = {
        "alice": alice.submit(*quick(amount=400, hidden_size=64), api_name="/train"),
        "bob": bob.submit(
            *quick(amount=400, hidden_size=32, optimizer="sgd", lr=0.1), api_name="/train"
        ),
    }
    watchers = [threading.Thread(target=watch, args=item) for item in jobs.items()]
    for thread in watchers:
        thread.start()
    for thread in watchers:
        thread.join(timeout=60)
    first, second = sorted(["alice", "bob"], key=running.get)
    assert running[first + " done"] <= running[second]  # one after the other

    (alices,) = session_of(app, alice).runs
    (bobs,) = session_of(app, bob).runs
    assert alices.config.hidden_size == 64 and bobs.config.hidden_size == 32
    assert alices.model is not bobs.model
    assert alices.run_id == bobs.run_id == 1  # numbered per student
    assert views(jobs["alice"])[-1].run_choice["choices"] == [[alices.label, 1]]
    assert views(jobs["bob"])[-1].run_choice["choices"] == [[bobs.label, 1]]

    # "Use in Draw" for Alice changes Alice's Draw tab only.
    before = logits(bob, SEVEN)
    alice.predict(1, api_name="/use_in_draw")
    assert session_of(app, alice).draw_model is alices.model
    assert session_of(app, bob).draw_model is None
    assert logits(bob, SEVEN) == pytest.approx(before)
    assert logits(alice, SEVEN) != pytest.approx(before, abs=1e-2)


@slow
def test_a_run_beyond_the_pool_waits_and_sees_its_place_in_the_queue(app):
    first, second = student(app), student(app)
    jobs = [first.submit(*train_settings(**LONG), api_name="/train")]
    wait_until(lambda: any("step" in o.status for o in views(jobs[0])), timeout=30)
    jobs.append(second.submit(*train_settings(**LONG), api_name="/train"))
    try:
        wait_until(lambda: any("ahead of you" in o.status for o in views(jobs[1])), timeout=10)
        assert "1 run ahead of you" in views(jobs[1])[-1].status
        assert session_of(app, second).runs == []  # not started
    finally:
        for job in jobs:
            job.cancel()


@slow
def test_the_training_event_is_public_and_pooled(app):
    client = student(app)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    parameters = [p["parameter_name"] for p in endpoints["/train"]["parameters"]]
    assert parameters == list(TRAIN_INPUTS)
    train_fn = next(fn for fn in app.fns.values() if fn.api_name == "train")
    assert train_fn.concurrency_limit is None  # waiting runs never fill Gradio's queue
