"""The Train tab: its handlers called directly, then the launched app through gradio_client
(two Client objects are two students)."""

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
from gradio_client.utils import Status

from mnist_demo import training_session as ts
from mnist_demo.data import load_mnist
from mnist_demo.model import make_model
from mnist_demo.ui import train_tab
from mnist_demo.ui.app import MAX_QUEUE_SIZE, new_session
from mnist_demo.ui.draw_tab import build_draw_tab, classify_drawing
from mnist_demo.ui.train_tab import build_train_tab, train_model

from conftest import serving
from drawings import CENTERED, canvas_data_url, draw_layer, sketchpad_value

# train_model's inputs after the settings: status, loss, accuracy, choices, result,
# confusion, gallery, session
STATUS, LOSS, ACCURACY, CHOICES, RESULT, CONFUSION, GALLERY, SESSION = range(8)


def no_progress(*args, **kwargs) -> None:
    """Stands in for gr.Progress() when a handler is called outside a running app."""


def settings(**overrides) -> dict:
    values = {
        "optimizer": "adam",
        "lr": 1e-3,
        "batch_size": 64,
        "unit": "steps",
        "amount": 100,
        "train_size": 2000,
        "hidden_size": 128,
        "seed": 0,
        "init": "random",
    }
    return values | overrides


def train(session: dict, **overrides) -> list[tuple]:
    return list(train_model(**settings(**overrides), session=session, progress=no_progress))


def is_skip(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def drawing() -> dict:
    return sketchpad_value(draw_layer(7, CENTERED))


# ---------------------------------------------------------------------------------------
# Handlers, called directly
# ---------------------------------------------------------------------------------------


def test_a_run_streams_progress_then_shows_its_results(mnist_dir, monkeypatch):
    monkeypatch.setattr(ts, "UPDATE_SECONDS", 0.01)  # report often
    session = new_session()
    outputs = train(session, amount=100)
    live = [o for o in outputs if "step" in o[STATUS] and "samples/s" in o[STATUS]]
    assert len(live) >= 3
    assert "step 0 of 100" in live[0][STATUS]
    steps = [int(re.search(r"step (\d+) of", o[STATUS]).group(1)) for o in live]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    assert "samples/s" in live[-1][STATUS] and "left" in live[-1][STATUS]
    final = outputs[-1]  # also what an API caller gets
    accuracy = float(re.search(r"([\d.]+)% test accuracy", final[RESULT]).group(1))
    assert accuracy > 60  # chance is 10%
    assert final[SESSION] is session
    assert len(final[GALLERY]) == ts.GALLERY_SIZE
    assert final[CONFUSION].data.shape == (10, 11)
    (record,) = ts.runs_of(session)
    assert final[CHOICES].choices == [(record.label, record.run_id)]
    assert session["draw_model"] is None  # training never swaps the Draw model by itself
    # The first update that says the run has ended already lets the student pick it.
    first_end = next(o for o in outputs if "Trained 100 steps" in o[STATUS])
    assert first_end[CHOICES].choices == [(record.label, record.run_id)]


def test_stop_then_shows_what_the_stopped_run_learnt(mnist_dir):
    session = new_session()
    long_run = settings(unit="epochs", amount=5, train_size=60000)
    events = train_model(**long_run, session=session, progress=no_progress)
    for _ in range(3):  # preparing, step 0, one live update
        next(events)
    events.close()  # what Gradio does on Stop
    *_, final = train_tab.after_stop(session)
    (record,) = ts.runs_of(session)
    assert record.status == ts.STOPPED and "Stopped by you" in final[STATUS]
    assert "test accuracy" in final[RESULT] and len(final[GALLERY]) == ts.GALLERY_SIZE
    assert final[CHOICES].choices == [(record.label, record.run_id)]
    assert final[SESSION] is session


def test_divergence_explains_itself_and_the_previous_model_stays(mnist_dir):
    session = new_session()
    previous = make_model(seed=1)
    session["draw_model"] = previous
    outputs = train(session, optimizer="momentum", lr=1.0, batch_size=1, amount=2000)
    status = outputs[-1][STATUS]
    assert "diverged" in status and "learning rate" in status and "too large" in status
    assert session["draw_model"] is previous
    (record,) = ts.runs_of(session)
    assert record.status == ts.DIVERGED and record.model is None
    assert outputs[-1][CHOICES].choices == []  # nothing to use or download
    assert all(is_skip(o[RESULT]) for o in outputs)  # the result panel keeps the last run


def test_use_in_draw_changes_this_sessions_predictions_only(mnist_dir):
    mine, theirs = new_session(), new_session()
    train(mine, optimizer="sgd", lr=1e-4, amount=5)  # barely trained: answers differ
    (record,) = ts.runs_of(mine)

    def probabilities(session: dict) -> list[float]:
        bars = classify_drawing(drawing(), session)[1]
        return [probability for _, probability, _ in bars["data"]]

    before = probabilities(mine)
    text, session = train_tab.use_in_draw(record.run_id, mine)
    assert session is mine and mine["draw_model"] is record.model
    assert f"run #{record.run_id}" in text
    after, others = probabilities(mine), probabilities(theirs)
    assert after != pytest.approx(before, abs=1e-3)
    assert others == pytest.approx(before)  # the shipped model, as before
    text, _ = train_tab.use_shipped(mine)
    assert mine["draw_model"] is None and "shipped" in text


def test_download_gives_weights_and_their_card(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the session's folder goes
    session = new_session()
    train(session, amount=20)
    (record,) = ts.runs_of(session)
    files, returned = train_tab.download_weights(record.run_id, session)
    assert returned is session
    weights, card = files
    assert weights.endswith(".pt") and card.endswith(".json")
    assert Path(weights).parent.parent == tmp_path
    assert json.loads(Path(card).read_text())["run"]["steps"] == 20
    files_again, _ = train_tab.download_weights(str(record.run_id), session)
    assert files_again == files  # the session's folder holds only the latest download
    with pytest.raises(gr.Error):
        train_tab.download_weights(99, session)


def test_without_mnist_the_tab_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(ts, "load_mnist", functools.partial(load_mnist, download=False))
    session = new_session()
    preparing, output = train(session)
    assert "Preparing" in preparing[STATUS]
    assert "No MNIST data" in output[STATUS] and "MNIST_DATA_DIR" in output[STATUS]
    assert str(tmp_path) in output[STATUS]
    assert ts.runs_of(session) == []
    # The Draw tab needs no data set.
    assert "The network says" in classify_drawing(drawing(), session)[0]


def test_bad_settings_are_a_clear_error():
    with pytest.raises(gr.Error, match="Unknown optimizer"):
        train(new_session(), optimizer="rmsprop")


def test_clear_runs_forgets_finished_runs(mnist_dir):
    session = new_session()
    train(session, amount=5)
    _, last = list(train_tab.clear_runs(session))
    assert ts.runs_of(session) == [] and last[CHOICES].choices == []
    assert last[LOSS]["value"].empty and last[RESULT] == train_tab.NO_RESULT


# ---------------------------------------------------------------------------------------
# The launched app, through gradio_client
# ---------------------------------------------------------------------------------------


def build_test_demo() -> gr.Blocks:
    """The app as mnist_demo/ui/app.py composes it, with the Train tab added."""
    torch.set_num_threads(1)
    with gr.Blocks() as demo:
        session = gr.State(new_session)
        with gr.Tabs():
            with gr.Tab("Draw"):
                build_draw_tab(session)
            with gr.Tab("Train"):
                build_train_tab(session)
    demo.queue(max_size=MAX_QUEUE_SIZE, default_concurrency_limit=4)
    demo.session_state_id = session._id
    return demo


@pytest.fixture(scope="module")
def app(tmp_path_factory, mnist_dir):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
    demo = build_test_demo()
    try:
        with serving(demo):
            yield demo
    finally:
        monkeypatch.undo()


def student(demo: gr.Blocks) -> Client:
    """A new browser session, as an API client (output files are not downloaded)."""
    return Client(demo.local_url, verbose=False, download_files=False)


def session_of(demo: gr.Blocks, client: Client) -> dict:
    """The server's session dict of a client (what gr.State holds for that student)."""
    return demo.state_holder[client.session_hash][demo.session_state_id]


def drawn_seven() -> str:
    return canvas_data_url(draw_layer(7, CENTERED))


def logits(client: Client, canvas: str) -> list[float]:
    """What this client's Draw tab answers: the ten logits of its numbers table."""
    *_, numbers = client.predict(canvas, api_name="/predict")
    return [row[1] for row in numbers["data"]]


def wait_for(condition, timeout: float, interval: float = 0.01) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(interval)
    return time.monotonic() - start


slow = pytest.mark.slow


@slow
def test_api_run_streams_and_ends_better_than_chance(app):
    client = student(app)
    job = client.submit(*settings(amount=300).values(), api_name="/train")
    job.result(timeout=60)
    outputs = job.outputs()
    assert len(outputs) >= 3
    assert "Preparing" in outputs[0][STATUS] and "step 0 of 300" in outputs[1][STATUS]
    assert "test accuracy" in outputs[-1][RESULT]  # the last update carries everything
    (record,) = ts.runs_of(session_of(app, client))
    assert record.status == ts.FINISHED and record.result.test_accuracy > 0.8


@slow
def test_stop_cancels_within_a_second_and_leaves_a_usable_model(app, tmp_path):
    me, other = student(app), student(app)
    other_job = other.submit(*settings(amount=300).values(), api_name="/train")
    job = me.submit(
        *settings(unit="epochs", amount=10, train_size=60000).values(), api_name="/train"
    )
    wait_for(lambda: len(job.outputs()) >= 2, timeout=30)
    (record,) = ts.runs_of(session_of(app, me))
    job.cancel()
    assert wait_for(lambda: record.status != ts.RUNNING, timeout=1.0) < 1.0
    assert record.status == ts.STOPPED and 0 < record.step < record.total_steps
    assert all(torch.isfinite(p).all() for p in record.model.parameters())

    # The stopped model can be used in the Draw tab, by this student only.
    canvas = drawn_seven()
    shipped = logits(other, canvas)
    text = me.predict(record.run_id, api_name="/use_in_draw")
    assert f"run #{record.run_id}" in text
    assert session_of(app, me)["draw_model"] is record.model
    assert logits(me, canvas) != pytest.approx(shipped, abs=1e-2)
    assert logits(other, canvas) == pytest.approx(shipped)

    other_job.result(timeout=60)  # the other student's run was not touched
    (theirs,) = ts.runs_of(session_of(app, other))
    assert theirs.status == ts.FINISHED and theirs.step == 300


@slow
def test_caps_hold_against_oversize_api_requests(app, monkeypatch):
    monkeypatch.setattr(ts, "MAX_SECONDS", 1.0)  # the real cap is 30 s; the test waits 1
    client = student(app)
    oversize = settings(
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
    status = client.predict(*oversize.values(), api_name="/train")[STATUS]
    assert time.monotonic() - start < 10
    assert "Stopped at the 1 s limit" in status and "Capped to the classroom limits" in status
    (record,) = ts.runs_of(session_of(app, client))
    assert record.status == ts.CAPPED and record.elapsed < 1.5
    assert record.request.lr == 1.0 and record.request.batch_size == ts.BATCH_RANGE[1]
    assert record.total_steps * record.request.batch_size <= ts.MAX_SAMPLES
    # Sliders refuse values outside their range before the handler runs.
    with pytest.raises(AppError):
        client.predict(*settings(hidden_size=10**6).values(), api_name="/train")


@slow
def test_two_students_press_train_together_and_see_only_their_own(app, tmp_path):
    """Both runs are taken; one trains at a time (TRAIN_CONCURRENCY on 2 cores), and each
    student gets their own model."""
    alice, bob = student(app), student(app)
    running = {}

    def watch(name, job):
        while not job.done():
            if any("step" in o[STATUS] and "step 0 of" not in o[STATUS] for o in job.outputs()):
                running.setdefault(name, time.monotonic())
            time.sleep(0.01)
        running[name + " done"] = time.monotonic()

    jobs = {
        "alice": alice.submit(*settings(amount=400, hidden_size=64).values(), api_name="/train"),
        "bob": bob.submit(
            *settings(amount=400, hidden_size=32, optimizer="sgd", lr=0.1).values(),
            api_name="/train",
        ),
    }
    watchers = [threading.Thread(target=watch, args=item) for item in jobs.items()]
    for thread in watchers:
        thread.start()
    for thread in watchers:
        thread.join(timeout=60)
    first, second = sorted(["alice", "bob"], key=running.get)
    assert running[first + " done"] <= running[second]  # one after the other

    (alices,) = ts.runs_of(session_of(app, alice))
    (bobs,) = ts.runs_of(session_of(app, bob))
    assert alices.request.hidden_size == 64 and bobs.request.hidden_size == 32
    assert alices.model is not bobs.model
    assert alices.run_id == bobs.run_id == 1  # numbered per student
    assert jobs["alice"].outputs()[-1][CHOICES]["choices"] == [[alices.label, 1]]
    assert jobs["bob"].outputs()[-1][CHOICES]["choices"] == [[bobs.label, 1]]

    # "Use in Draw" for Alice changes Alice's Draw tab only.
    canvas = drawn_seven()
    before = logits(bob, canvas)
    alice.predict(1, api_name="/use_in_draw")
    assert session_of(app, alice)["draw_model"] is alices.model
    assert session_of(app, bob)["draw_model"] is None
    assert logits(bob, canvas) == pytest.approx(before)
    assert logits(alice, canvas) != pytest.approx(before, abs=1e-2)


@slow
def test_a_run_beyond_the_pool_waits_and_sees_its_place_in_the_queue(app):
    long_run = settings(unit="epochs", amount=10, train_size=60000).values()
    pool = train_tab.TRAIN_CONCURRENCY
    clients = [student(app) for _ in range(pool + 1)]
    jobs = [client.submit(*long_run, api_name="/train") for client in clients[:pool]]
    wait_for(lambda: all(len(job.outputs()) >= 1 for job in jobs), timeout=30)
    jobs.append(clients[pool].submit(*long_run, api_name="/train"))
    try:
        wait_for(lambda: jobs[pool].status().code == Status.IN_QUEUE, timeout=10)
        assert jobs[pool].status().rank == 0  # first in line
        assert ts.runs_of(session_of(app, clients[pool])) == []  # not started
    finally:
        for job in jobs:
            job.cancel()


@slow
def test_the_training_event_is_public_and_pooled(app):
    client = student(app)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    parameters = [p["parameter_name"] for p in endpoints["/train"]["parameters"]]
    assert parameters == list(settings())
    train_fn = next(fn for fn in app.fns.values() if fn.api_name == "train")
    assert train_fn.concurrency_limit == train_tab.TRAIN_CONCURRENCY
    assert train_fn.concurrency_id == "train"


def test_no_data_does_not_break_building_the_tab(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    build_test_demo()  # builds without touching MNIST


def test_the_result_panel_explains_a_run_that_learnt_nothing():
    request, _ = ts.apply_caps(ts.RunRequest(optimizer="momentum", lr=1.0))
    record = ts.start_run({}, request)
    record.result = ts.RunResult(
        test_accuracy=0.098,
        confusion=torch.zeros(10, 10, dtype=torch.long),
        mistakes=[],
        test_images=10_000,
        dead_units=120,
        hidden_units=128,
    )
    text, _, _ = train_tab.result_view(record)
    assert "learnt next to nothing" in text and "120 of its 128 hidden ReLU units" in text
