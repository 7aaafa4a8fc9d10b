"""A student's training runs without Gradio: caps, the run loop, Stop, divergence, results."""

import json
import math
import os
import threading
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_demo import train as train_module
from mnist_demo import training_session as ts
from mnist_demo.checkpoint import load_model, load_state_dict
from mnist_demo.data import normalize
from mnist_demo.model import make_model
from mnist_demo.predict import shipped_model
from mnist_demo.train import train
from mnist_demo.training_session import (
    CAPPED,
    DIVERGED,
    FINISHED,
    STOPPED,
    RunRequest,
    RunSettingsError,
    apply_caps,
    train_config,
)

from conftest import blobs


def new_run(session=None, **settings) -> ts.RunRecord:
    request, notes = apply_caps(RunRequest(**settings))
    return ts.start_run(session if session is not None else {}, request, notes)


def run_to_end(record, model, train_set, test_set, **kwargs) -> list:
    return list(ts.run_training(record, model, train_set, test_set, **kwargs))


# ---------------------------------------------------------------------------------------
# Caps
# ---------------------------------------------------------------------------------------


def test_a_sensible_request_is_left_alone():
    request = RunRequest(optimizer="sgd", lr=0.1, batch_size=32, unit="epochs", amount=2)
    capped, notes = apply_caps(request)
    assert capped == request and notes == []
    assert train_config(capped).max_steps == 2 * math.ceil(60_000 / 32)


def test_oversize_requests_are_cut_to_the_classroom_limits():
    request = RunRequest(
        optimizer="Adam",
        lr=100.0,
        batch_size=10**6,
        unit="epochs",
        amount=1e9,
        train_size=10**9,
        hidden_size=10**6,
        seed=-5,
    )
    capped, notes = apply_caps(request)
    assert capped.optimizer == "adam"
    assert capped.lr == ts.LR_RANGE[1]
    assert capped.batch_size == ts.BATCH_RANGE[1]
    assert capped.train_size == ts.TRAIN_SIZE_RANGE[1]
    assert capped.hidden_size == ts.HIDDEN_RANGE[1]
    assert capped.seed == 0
    assert capped.planned_steps * capped.batch_size <= ts.MAX_SAMPLES
    assert len(notes) == 7  # one per setting cut, and one for the number of steps
    assert "learning rate 100 is outside 0.0001..1: using 1" in notes


@settings(max_examples=200, deadline=None)
@given(
    lr=st.floats(min_value=-1e9, max_value=1e9),
    batch_size=st.integers(-(10**9), 10**9),
    unit=st.sampled_from(ts.UNITS),
    amount=st.floats(min_value=-1e12, max_value=1e12),
    train_size=st.integers(-(10**9), 10**9),
    hidden_size=st.integers(-(10**9), 10**9),
    seed=st.integers(-(2**70), 2**70),
)
def test_no_request_escapes_the_caps(lr, batch_size, unit, amount, train_size, hidden_size, seed):
    request = RunRequest("sgd", lr, batch_size, unit, amount, train_size, hidden_size, seed)
    capped, _ = apply_caps(request)
    assert ts.LR_RANGE[0] <= capped.lr <= ts.LR_RANGE[1]
    assert ts.BATCH_RANGE[0] <= capped.batch_size <= ts.BATCH_RANGE[1]
    assert ts.TRAIN_SIZE_RANGE[0] <= capped.train_size <= ts.TRAIN_SIZE_RANGE[1]
    assert ts.HIDDEN_RANGE[0] <= capped.hidden_size <= ts.HIDDEN_RANGE[1]
    assert ts.SEED_RANGE[0] <= capped.seed <= ts.SEED_RANGE[1]
    assert 1 <= capped.planned_steps <= ts.MAX_STEPS
    assert capped.planned_steps * capped.batch_size <= ts.MAX_SAMPLES
    assert apply_caps(capped) == (capped, [])  # capping twice changes nothing


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"optimizer": "rmsprop"}, "Unknown optimizer"),
        ({"lr": float("nan")}, "finite"),
        ({"batch_size": "lots"}, "number"),
        ({"unit": "hours"}, "epochs"),
        ({"init": "pretrained"}, "shipped"),
    ],
)
def test_settings_that_cannot_be_clamped_are_refused(settings, message):
    with pytest.raises(RunSettingsError, match=message):
        apply_caps(RunRequest(**settings))


def test_the_shipped_model_fixes_the_hidden_width():
    capped, notes = apply_caps(RunRequest(init="shipped", hidden_size=64))
    assert capped.hidden_size == 128 and "shipped model" in notes[0]


# ---------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------


def test_a_run_streams_and_ends_with_a_better_model():
    record = new_run(optimizer="adam", lr=1e-3, batch_size=32, unit="steps", amount=60)
    model = ts.initial_model(record.request)
    updates = run_to_end(record, model, blobs(), blobs(200, seed=1), update_seconds=0.001)
    assert len(updates) >= 2 and updates[-1] is record
    assert record.status == FINISHED and record.step == 60 == len(record.losses)
    assert record.model is model and not model.training
    assert record.losses[-1] < record.losses[0] / 3
    assert record.eval_steps[0] == 0 and record.eval_steps[-1] == 60
    assert record.eval_accuracies[0] < 0.3 < 0.9 < record.eval_accuracies[-1]
    result = record.result
    assert result.test_accuracy > 0.9 and result.test_images == 200
    assert result.confusion.sum() == 200 and result.confusion.shape == (10, 10)


def test_a_run_from_the_shipped_model_trains_a_copy():
    record = new_run(init="shipped", unit="steps", amount=5)
    before = {k: v.clone() for k, v in shipped_model().state_dict().items()}
    model = ts.initial_model(record.request)
    assert model is not shipped_model()
    run_to_end(record, model, blobs(), blobs(100))
    for name, tensor in shipped_model().state_dict().items():
        assert torch.equal(tensor, before[name])  # what everyone else uses never changes


def test_the_same_seed_gives_the_same_initial_weights():
    adam = ts.initial_model(apply_caps(RunRequest(optimizer="adam", seed=3))[0])
    sgd = ts.initial_model(apply_caps(RunRequest(optimizer="sgd", seed=3))[0])
    for a, b in zip(adam.parameters(), sgd.parameters(), strict=True):
        assert torch.equal(a, b)


def test_the_clock_cap_stops_a_run_cleanly():
    record = new_run(unit="steps", amount=ts.MAX_STEPS, batch_size=16)
    model = ts.initial_model(record.request)
    run_to_end(record, model, blobs(), blobs(100), max_seconds=0.2)
    assert record.status == CAPPED and "limit" in record.message
    assert 0 < record.step < record.total_steps
    assert record.model is model and record.result is not None
    assert record.eval_steps[-1] == record.step


def test_stop_keeps_the_weights_of_the_last_whole_step():
    """Closing the generator (what Gradio does on Stop) leaves a usable, consistent model:
    exactly the model that `train()` gives for that many steps."""
    train_set, test_set = blobs(), blobs(100, seed=1)
    record = new_run(unit="steps", amount=5000, batch_size=16, seed=4)
    model = ts.initial_model(record.request)
    events = ts.run_training(record, model, train_set, test_set, update_seconds=0.01)
    for _ in range(3):
        next(events)
    closed = time.monotonic()
    events.close()
    assert time.monotonic() - closed < 0.05  # closing never waits (Gradio's event loop does it)
    while record.status == ts.RUNNING:  # the run's thread finishes its step, then stops
        assert time.monotonic() - closed < 1.0
        time.sleep(0.005)
    assert record.status == STOPPED and record.model is model and record.result is None
    steps = record.step
    assert 0 < steps < 5000

    config = train_config(record.request)
    config.max_steps = steps
    reference = make_model(record.request.hidden_size, seed=4)
    list(train(reference, ts.first_images(train_set, record.request.train_size), config))
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(ours, theirs, atol=1e-6)

    result = ts.ensure_result(record, test_set)
    assert result is record.result and result.test_images == 100
    assert record.eval_steps[-1] == steps


def test_nan_weights_are_caught_and_no_model_is_kept():
    record = new_run(unit="steps", amount=10)
    model = ts.initial_model(record.request)
    with torch.no_grad():
        model.fc1.weight[0, 0] = float("nan")
    updates = run_to_end(record, model, blobs(), blobs(100))
    assert updates[-1] is record
    assert record.status == DIVERGED and record.model is None and record.result is None
    assert "nan" in record.message and "learning rate" in record.message
    assert "previous model stays" in record.message


def test_a_blowing_up_loss_stops_the_run(mnist_dir):
    """SGD with momentum at the largest rate, one image per step: the loss explodes."""
    train_set, test_set = ts.shared_data()
    record = new_run(optimizer="momentum", lr=1.0, batch_size=1, unit="steps", amount=2000)
    run_to_end(record, ts.initial_model(record.request), train_set, test_set)
    assert record.status == DIVERGED and record.model is None
    assert record.step < 100  # stopped early, not at NaN after hundreds of steps
    assert "too large" in record.message or "blow up" in record.message


def test_a_small_real_run_beats_chance(mnist_dir):
    train_set, test_set = ts.shared_data()
    record = new_run(optimizer="adam", lr=1e-3, unit="steps", amount=150, train_size=3000)
    run_to_end(record, ts.initial_model(record.request), train_set, test_set)
    assert record.status == FINISHED
    assert record.result.test_accuracy > 0.8  # chance is 0.1
    assert record.result.test_images == 10_000
    mistakes = record.result.mistakes
    assert len(mistakes) == ts.GALLERY_SIZE
    assert all(m.target != m.predicted for m in mistakes)
    confidences = [m.confidence for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    assert mistakes[0].image.shape == (28, 28)
    assert mistakes[0].caption.startswith(f"{mistakes[0].target} -> {mistakes[0].predicted} (")


def test_runs_train_in_their_own_lower_priority_thread(monkeypatch):
    seen = {}
    real = ts.lower_priority

    def spy():
        real()
        thread_id = threading.get_native_id()
        seen["thread"] = threading.current_thread()
        seen["niceness"] = os.getpriority(os.PRIO_PROCESS, thread_id)
        if hasattr(os, "SCHED_IDLE"):
            seen["policy"] = os.sched_getscheduler(thread_id)

    monkeypatch.setattr(ts, "lower_priority", spy)
    record = new_run(unit="steps", amount=3)
    run_to_end(record, ts.initial_model(record.request), blobs(), blobs(100))
    assert record.status == FINISHED
    assert seen["thread"] is not threading.current_thread()
    assert seen["niceness"] >= ts.TRAIN_NICENESS
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < ts.TRAIN_NICENESS
    if hasattr(os, "SCHED_IDLE"):  # Linux: the run's thread only, not the server's
        assert seen["policy"] == os.SCHED_IDLE
        assert os.sched_getscheduler(threading.get_native_id()) != os.SCHED_IDLE


def test_shared_data_is_loaded_once(mnist_dir):
    first, second = ts.shared_data(), ts.shared_data()
    assert first[0] is second[0] and first[1] is second[1]


# ---------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------


def test_a_session_keeps_its_last_runs():
    session = {"draw_model": None, "runs": []}
    records = [new_run(session) for _ in range(ts.MAX_RUNS_KEPT + 2)]
    assert [r.run_id for r in records] == list(range(1, ts.MAX_RUNS_KEPT + 3))
    assert ts.runs_of(session) == records[-ts.MAX_RUNS_KEPT :]
    assert ts.find_run(session, str(records[-1].run_id)) is records[-1]
    assert ts.find_run(session, 1) is None


def test_labels_name_the_settings():
    record = new_run(optimizer="momentum", lr=0.03, batch_size=256, seed=7)
    assert record.label == f"#{record.run_id} SGD+momentum, lr 0.03, batch 256, 128 hidden, seed 7"
    assert record.legend == f"#{record.run_id} SGD+momentum lr 0.03, batch 256, seed 7"
    assert new_run().legend.endswith("Adam lr 0.001")


# ---------------------------------------------------------------------------------------
# Plot and table data
# ---------------------------------------------------------------------------------------


def test_smoothing_starts_at_the_first_value_and_follows_a_constant():
    assert ts.smooth([2.0])[0] == pytest.approx(2.0)
    assert ts.smooth([1.0] * 50) == pytest.approx([1.0] * 50)
    smoothed = ts.smooth([0.0, 10.0, 10.0, 10.0])
    assert 0.0 < smoothed[1] < smoothed[2] < smoothed[3] < 10.0


def test_curve_frames_overlay_runs_and_stay_small():
    long = ts.RunRecord(run_id=1, request=RunRequest(), losses=[2.3] * 5000)
    long.eval_steps, long.eval_accuracies = [0, 2500, 5000], [0.1, 0.8, 0.9]
    short = ts.RunRecord(run_id=2, request=RunRequest(optimizer="sgd"), losses=[1e6, 2.0])
    short.eval_steps, short.eval_accuracies = [0], [0.1]
    losses = ts.loss_frame([long, short])
    assert list(losses.columns) == ["step", "loss", "run"]
    per_run = losses.groupby("run", sort=False)["step"]
    assert per_run.count().tolist() == [ts.MAX_PLOT_POINTS, 2]
    assert per_run.max().tolist() == [5000, 2]  # the last step is always drawn
    assert losses["loss"].max() <= ts.LOSS_PLOT_MAX  # an explosion does not flatten the rest
    accuracy = ts.accuracy_frame([long, short])
    assert accuracy["run"].unique().tolist() == [long.legend, short.legend]
    assert ts.color_map([long, short]) == {
        long.legend: ts.RUN_COLORS[0],
        short.legend: ts.RUN_COLORS[1],
    }
    assert ts.loss_frame([]).empty and list(ts.accuracy_frame([]).columns) == [
        "step",
        "accuracy",
        "run",
    ]


def test_confusion_table_has_a_row_per_true_digit():
    confusion = torch.arange(100).view(10, 10)
    frame = ts.confusion_frame(confusion)
    assert frame.shape == (10, 11) and frame["true"].tolist() == [str(d) for d in range(10)]
    assert frame["3"].tolist() == confusion[:, 3].tolist()  # predicted 3
    html = ts.confusion_styler(confusion).to_html()
    assert "rgba(84, 162, 75" in html and "rgba(228, 87, 86" in html  # right green, wrong red


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


def test_export_writes_weights_and_a_card_that_load_back(tmp_path):
    record = new_run(optimizer="sgd", lr=0.1, unit="steps", amount=20)
    model = ts.initial_model(record.request)
    run_to_end(record, model, blobs(), blobs(100))
    weights, card = ts.export_run(record, tmp_path)
    assert weights.name == f"mnist_mlp_run{record.run_id}.pt" and card == weights.with_suffix(
        ".json"
    )
    loaded = load_model(weights)  # checks the sha256 in the card and every shape
    images = blobs(8).images
    assert torch.equal(loaded(images), model(images))
    metadata = json.loads(card.read_text())
    assert metadata["training"]["optimizer"] == "sgd" and metadata["training"]["max_steps"] == 20
    assert metadata["run"]["status"] == FINISHED
    assert metadata["test_accuracy"] == record.result.test_accuracy
    assert metadata["command"] == (
        "python -m mnist_demo.train --optimizer sgd --lr 0.1 --batch-size 64 --max-steps 20 "
        "--hidden-size 128 --seed 0"
    )
    assert load_state_dict(weights)[1] == metadata


def test_the_command_line_retrains_the_same_weights(tmp_path, monkeypatch):
    """The card's command, run with the command line of mnist_demo.train, gives the run's
    weights (all 60,000 images, from random weights)."""
    train_set = blobs(600)
    record = new_run(optimizer="momentum", lr=0.01, unit="steps", amount=15, seed=2)
    model = ts.initial_model(record.request)
    run_to_end(record, model, train_set, blobs(100))
    command = ts.reproduce_command(record).split()[3:]  # after "python -m mnist_demo.train"
    monkeypatch.setattr(train_module, "load_mnist", lambda train, root=None: train_set)
    out = tmp_path / "again.pt"
    train_module.main([*command, "--out", str(out)])
    again = load_model(out)
    for ours, theirs in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.allclose(ours, theirs, atol=1e-6)
    assert ts.reproduce_command(new_run(train_size=1000)) is None  # the CLI's subset differs


def test_a_diverged_run_has_nothing_to_export(tmp_path):
    record = new_run()
    record.status = DIVERGED
    with pytest.raises(RunSettingsError, match="no weights"):
        ts.export_run(record, tmp_path)


def test_dead_relu_units_are_counted():
    """Units whose pre-activation is negative for every image output 0: "dead"."""
    model = make_model(16, seed=0)
    images = blobs(200)
    assert ts.count_dead_units(model, images) == 0
    with torch.no_grad():
        model.fc1.bias[:5] = -1e6  # five units pushed far below 0
    assert ts.count_dead_units(model, images) == 5
    hidden = torch.relu(model.fc1(normalize(images.images).flatten(1)))
    assert int((hidden.sum(dim=0) == 0).sum()) == 5  # the same, from PyTorch directly


def test_a_run_that_learnt_nothing_says_why(mnist_dir):
    """SGD with momentum at rate 1 "finishes" at chance level: the result explains it."""
    train_set, test_set = ts.shared_data()
    record = new_run(optimizer="momentum", lr=1.0, unit="steps", amount=300)
    run_to_end(record, ts.initial_model(record.request), train_set, test_set)
    assert record.status == FINISHED and record.result.test_accuracy < ts.LEARNT_NOTHING_BELOW
    note = ts.learnt_nothing_note(record)
    assert "learnt next to nothing" in note and "too large" in note
    assert record.result.hidden_units == 128


def test_a_run_that_learnt_has_no_such_note(mnist_dir):
    train_set, test_set = ts.shared_data()
    record = new_run(optimizer="adam", lr=1e-3, unit="steps", amount=150, train_size=3000)
    run_to_end(record, ts.initial_model(record.request), train_set, test_set)
    assert ts.learnt_nothing_note(record) is None
    assert record.result.dead_units < record.result.hidden_units / 2
