"""A run in its own thread: streaming, the clock cap, Stop, divergence, priority, results."""

import os
import threading
import time
from dataclasses import replace

import pytest
import torch

from mnist_demo.classroom import background
from mnist_demo.classroom.background import ensure_result, run_training
from mnist_demo.classroom.runs import (
    CAPPED,
    DIVERGED,
    FAILED,
    FINISHED,
    MAX_STEPS,
    RUNNING,
    STOPPED,
    initial_model,
)
from mnist_demo.data import MNISTTensors, shared_data
from mnist_demo.evaluate import GALLERY_SIZE
from mnist_demo.model import make_model
from mnist_demo.predict import shipped_model
from mnist_demo.train import train

from conftest import blobs
from helpers import new_run


def run_to_end(record, model, train_set, test_set, **kwargs) -> list:
    return list(run_training(record, model, train_set, test_set, **kwargs))


def test_a_run_streams_and_ends_with_a_better_model():
    record = new_run(optimizer="adam", lr=1e-3, batch_size=32, unit="steps", amount=60)
    model = initial_model(record.config)
    updates = run_to_end(record, model, blobs(), blobs(200, seed=1), update_seconds=0.001)
    assert len(updates) >= 2 and updates[-1] is record
    assert record.status == FINISHED and record.step == 60 == len(record.losses)
    assert record.model is model and not model.training
    assert all(p.grad is None for p in model.parameters())  # kept without its gradients
    assert record.losses[-1] < record.losses[0] / 3
    assert record.eval_steps[0] == 0 and record.eval_steps[-1] == 60
    assert record.eval_accuracies[0] < 0.3 < 0.9 < record.eval_accuracies[-1]
    result = record.result
    assert result.test_accuracy > 0.9 and result.test_images == 200
    assert result.confusion.sum() == 200 and result.confusion.shape == (10, 10)


def test_a_run_from_the_shipped_model_trains_a_copy():
    record = new_run(init="shipped", unit="steps", amount=5)
    before = {k: v.clone() for k, v in shipped_model().state_dict().items()}
    model = initial_model(record.config)
    assert model is not shipped_model()
    run_to_end(record, model, blobs(), blobs(100))
    assert record.status == FINISHED
    for name, tensor in shipped_model().state_dict().items():
        assert torch.equal(tensor, before[name])  # what everyone else uses never changes


def test_the_clock_cap_stops_a_run_cleanly():
    record = new_run(unit="steps", amount=MAX_STEPS, batch_size=16)
    model = initial_model(record.config)
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
    model = initial_model(record.config)
    events = run_training(record, model, train_set, test_set, update_seconds=0.01)
    for _ in range(3):
        next(events)
    closed = time.monotonic()
    events.close()
    assert time.monotonic() - closed < 0.05  # closing never waits (Gradio's event loop does it)
    while record.status == RUNNING:  # the run's thread finishes its step, then stops
        assert time.monotonic() - closed < 1.0
        time.sleep(0.005)
    assert record.status == STOPPED and record.model is model and record.result is None
    steps = record.step
    assert 0 < steps < 5000

    reference = make_model(record.config.hidden_size, seed=4)
    list(train(reference, train_set, replace(record.config, max_steps=steps)))
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(ours, theirs, atol=1e-6)

    result = ensure_result(record, test_set)
    assert result is record.result and result.test_images == 100
    assert record.eval_steps[-1] == steps


def test_ensure_result_measures_only_what_is_missing():
    record = new_run(unit="steps", amount=10)
    run_to_end(record, initial_model(record.config), blobs(), blobs(100))
    assert record.status == FINISHED
    result, curves = record.result, record.curves()
    assert ensure_result(record, blobs(50, seed=3)) is result  # kept, not measured again
    assert record.curves() == curves

    diverged = new_run()
    diverged.status = DIVERGED
    assert ensure_result(diverged, blobs(100)) is None  # no model: nothing to measure


def test_nan_weights_are_caught_and_no_model_is_kept():
    record = new_run(unit="steps", amount=10)
    model = initial_model(record.config)
    with torch.no_grad():
        model.fc1.weight[0, 0] = float("nan")
    updates = run_to_end(record, model, blobs(), blobs(100))
    assert updates[-1] is record
    assert record.status == DIVERGED and record.model is None and record.result is None
    assert "nan" in record.message and "learning rate" in record.message
    assert "previous model stays" in record.message


def test_a_blowing_up_loss_stops_the_run(mnist_dir):
    """SGD with momentum at the largest rate, one image per step: the loss explodes."""
    train_set, test_set = shared_data()
    record = new_run(optimizer="momentum", lr=1.0, batch_size=1, unit="steps", amount=2000)
    run_to_end(record, initial_model(record.config), train_set, test_set)
    assert record.status == DIVERGED and record.model is None
    assert record.step < 100  # stopped early, not at NaN after hundreds of steps
    assert "too large" in record.message or "blow up" in record.message


def test_a_run_that_fails_says_so():
    """Anything but divergence (here a label no network has) ends as FAILED, with the error."""
    broken = MNISTTensors(images=blobs(64).images, labels=torch.full((64,), 12))
    record = new_run(unit="steps", amount=5)
    updates = run_to_end(record, initial_model(record.config), broken, blobs(100))
    assert updates[-1] is record
    assert record.status == FAILED and record.model is None and record.result is None
    assert record.message.startswith("The run failed (")


def test_a_small_real_run_beats_chance(mnist_dir):
    train_set, test_set = shared_data()
    record = new_run(optimizer="adam", lr=1e-3, unit="steps", amount=150, train_size=3000)
    run_to_end(record, initial_model(record.config), train_set, test_set)
    assert record.status == FINISHED
    assert record.result.test_accuracy > 0.8  # chance is 0.1
    assert record.result.test_images == 10_000
    mistakes = record.result.mistakes
    assert len(mistakes) == GALLERY_SIZE
    assert all(m.target != m.predicted for m in mistakes)
    confidences = [m.confidence for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    assert mistakes[0].image.shape == (28, 28)
    assert mistakes[0].caption.startswith(f"{mistakes[0].target} -> {mistakes[0].predicted} (")


def test_runs_train_in_their_own_lower_priority_thread(monkeypatch):
    seen = {}
    real = background.lower_priority

    def spy():
        real()
        thread_id = threading.get_native_id()
        seen["thread"] = threading.current_thread()
        seen["niceness"] = os.getpriority(os.PRIO_PROCESS, thread_id)
        if hasattr(os, "SCHED_IDLE"):
            seen["policy"] = os.sched_getscheduler(thread_id)

    monkeypatch.setattr(background, "lower_priority", spy)
    record = new_run(unit="steps", amount=3)
    run_to_end(record, initial_model(record.config), blobs(), blobs(100))
    assert record.status == FINISHED
    assert seen["thread"] is not threading.current_thread()
    assert seen["niceness"] >= background.TRAIN_NICENESS
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < background.TRAIN_NICENESS
    if hasattr(os, "SCHED_IDLE"):  # Linux: the run's thread only, not the server's
        assert seen["policy"] == os.SCHED_IDLE
        assert os.sched_getscheduler(threading.get_native_id()) != os.SCHED_IDLE


def test_shared_data_is_loaded_once(mnist_dir):
    first, second = shared_data(), shared_data()
    assert first[0] is second[0] and first[1] is second[1]


@pytest.mark.parametrize("steps", [1, 20, 21, 400])
def test_accuracy_is_measured_about_eval_points_times(steps):
    record = new_run(unit="steps", amount=steps, batch_size=8)
    run_to_end(record, initial_model(record.config), blobs(), blobs(50))
    assert record.status == FINISHED
    assert record.eval_steps[0] == 0 and record.eval_steps[-1] == steps
    assert record.eval_steps == sorted(set(record.eval_steps))
    assert len(record.eval_steps) <= background.EVAL_POINTS + 2  # step 0, the points, the end
