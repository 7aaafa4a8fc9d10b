"""A student's runs without Gradio: the caps, the form, records, sessions and export."""

import json
import math
import time
from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_demo import train as train_module
from mnist_demo.checkpoint import load_model, load_state_dict
from mnist_demo.classroom import runs
from mnist_demo.classroom.background import run_training
from mnist_demo.classroom.runs import (
    DIVERGED,
    FINISHED,
    RUNNING,
    STOPPED,
    RunRecord,
    RunSettingsError,
    StudentSession,
    apply_caps,
    config_from_form,
    export_run,
)
from mnist_demo.constants import TRAIN_IMAGES
from mnist_demo.model import make_model
from mnist_demo.plots import RUN_COLORS
from mnist_demo.train import TrainConfig

from conftest import blobs


def new_run(session: StudentSession | None = None, **form) -> RunRecord:
    """A record started the way the Train tab starts one: form -> caps -> session."""
    config, notes = apply_caps(config_from_form(**form))
    return (session if session is not None else StudentSession()).start_run(config, notes)


def run_to_end(record, model, train_set, test_set, **kwargs) -> list:
    return list(run_training(record, model, train_set, test_set, **kwargs))


# ---------------------------------------------------------------------------------------
# The form
# ---------------------------------------------------------------------------------------


def test_the_form_becomes_a_train_config():
    by_steps = config_from_form("momentum", 0.03, 128, "steps", 250, 5000, 64, 7, "shipped")
    assert by_steps == TrainConfig(
        optimizer="momentum",
        lr=0.03,
        batch_size=128,
        max_steps=250,
        train_size=5000,
        hidden_size=64,
        seed=7,
        init="shipped",
    )
    by_epochs = config_from_form(unit="epochs", amount=2.5)
    assert by_epochs.epochs == 2.5 and by_epochs.max_steps is None
    # The form's defaults are TrainConfig's, on all the training images.
    assert config_from_form() == TrainConfig(train_size=TRAIN_IMAGES)


def test_an_unknown_unit_is_refused_by_the_form():
    with pytest.raises(RunSettingsError, match="epochs"):
        config_from_form(unit="hours")


# ---------------------------------------------------------------------------------------
# Caps
# ---------------------------------------------------------------------------------------


def test_a_sensible_request_is_left_alone():
    config = config_from_form(optimizer="sgd", lr=0.1, batch_size=32, unit="epochs", amount=2)
    capped, notes = apply_caps(config)
    assert notes == []
    # Every setting as asked; the two epochs become their number of steps, reported one by
    # one (the run's thread checks the clock and Stop after each).
    assert capped == replace(config, max_steps=2 * math.ceil(60_000 / 32), report_every=1)
    assert capped.epochs == 2


def test_the_command_lines_default_config_is_capped_too():
    """TrainConfig's own defaults (all images: train_size None) pass the caps unchanged."""
    capped, notes = apply_caps(TrainConfig())
    assert notes == [] and capped.train_size == TRAIN_IMAGES
    assert capped.max_steps == math.ceil(TRAIN_IMAGES / 64)


def test_oversize_requests_are_cut_to_the_classroom_limits():
    config = config_from_form(
        optimizer="Adam",
        lr=100.0,
        batch_size=10**6,
        unit="epochs",
        amount=1e9,
        train_size=10**9,
        hidden_size=10**6,
        seed=-5,
    )
    capped, notes = apply_caps(config)
    assert capped.optimizer == "adam"
    assert capped.lr == runs.LR_RANGE[1]
    assert capped.batch_size == runs.BATCH_RANGE[1]
    assert capped.train_size == runs.TRAIN_SIZE_RANGE[1]
    assert capped.hidden_size == runs.HIDDEN_RANGE[1]
    assert capped.seed == 0
    assert capped.max_steps * capped.batch_size <= runs.MAX_SAMPLES
    assert len(notes) == 7  # one per setting cut, and one for the number of steps
    assert "learning rate 100 is outside 0.0001..1: using 1" in notes


@settings(max_examples=200, deadline=None)
@given(
    lr=st.floats(min_value=-1e9, max_value=1e9),
    batch_size=st.integers(-(10**9), 10**9),
    unit=st.sampled_from(runs.UNITS),
    amount=st.floats(min_value=-1e12, max_value=1e12),
    train_size=st.integers(-(10**9), 10**9),
    hidden_size=st.integers(-(10**9), 10**9),
    seed=st.integers(-(2**70), 2**70),
)
def test_no_request_escapes_the_caps(lr, batch_size, unit, amount, train_size, hidden_size, seed):
    config = config_from_form("sgd", lr, batch_size, unit, amount, train_size, hidden_size, seed)
    capped, _ = apply_caps(config)
    assert runs.LR_RANGE[0] <= capped.lr <= runs.LR_RANGE[1]
    assert runs.BATCH_RANGE[0] <= capped.batch_size <= runs.BATCH_RANGE[1]
    assert runs.TRAIN_SIZE_RANGE[0] <= capped.train_size <= runs.TRAIN_SIZE_RANGE[1]
    assert runs.HIDDEN_RANGE[0] <= capped.hidden_size <= runs.HIDDEN_RANGE[1]
    assert runs.SEED_RANGE[0] <= capped.seed <= runs.SEED_RANGE[1]
    assert 1 <= capped.max_steps <= runs.MAX_STEPS
    assert capped.max_steps * capped.batch_size <= runs.MAX_SAMPLES
    # Always a whole number of steps on a whole number of images; epochs follow from them.
    assert isinstance(capped.max_steps, int) and isinstance(capped.train_size, int)
    assert capped.epochs == capped.max_steps * capped.batch_size / capped.train_size
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
        apply_caps(config_from_form(**settings))


def test_the_shipped_model_fixes_the_hidden_width():
    capped, notes = apply_caps(config_from_form(init="shipped", hidden_size=64))
    assert capped.hidden_size == 128 and "shipped model" in notes[0]


def test_numbers_are_shown_plainly():
    assert runs.format_number(1024) == "1,024"
    assert runs.format_number(0.0001) == "0.0001"
    assert runs.format_number(1e30) == "1e+30"


# ---------------------------------------------------------------------------------------
# Initial weights
# ---------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_initial_weights():
    adam = runs.initial_model(apply_caps(config_from_form(optimizer="adam", seed=3))[0])
    sgd = runs.initial_model(apply_caps(config_from_form(optimizer="sgd", seed=3))[0])
    for a, b in zip(adam.parameters(), sgd.parameters(), strict=True):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------


def test_labels_name_the_settings():
    record = new_run(optimizer="momentum", lr=0.03, batch_size=256, seed=7)
    assert record.label == f"#{record.run_id} SGD+momentum, lr 0.03, batch 256, 128 hidden, seed 7"
    assert record.legend == f"#{record.run_id} SGD+momentum lr 0.03, batch 256, seed 7"
    assert new_run().legend.endswith("Adam lr 0.001")


def test_a_record_counts_its_steps_and_keeps_its_colour():
    record = new_run(unit="steps", amount=40)
    assert record.total_steps == 40 == record.config.max_steps
    assert record.step == 0 and not record.has_model
    record.add_losses([2.3, 2.2, 2.1])
    assert record.step == 3
    session = StudentSession()
    colours = [new_run(session).color for _ in range(len(RUN_COLORS) + 1)]
    assert colours == [*RUN_COLORS, RUN_COLORS[0]]  # by run number, round the palette


def test_curves_are_copies_taken_together():
    record = new_run()
    record.add_losses([2.3, 2.0])
    record.add_evaluation(0, 2.31, 0.1)
    record.add_evaluation(2, 1.9, 0.4)
    curves = record.curves()
    assert curves == ([2.3, 2.0], [0, 2], [0.1, 0.4], [2.31, 1.9])
    for copy in curves:
        copy.append(9)  # the page's copies: the run's own lists do not change
    assert record.curves() == ([2.3, 2.0], [0, 2], [0.1, 0.4], [2.31, 1.9])


def test_the_card_of_a_stopped_run_gives_the_epochs_it_really_trained(tmp_path):
    """Regression (review m9): a run of 5 epochs stopped at step 3,904 of batch 64 said
    "epochs": 5.0027 though it trained 3,904 x 64 / 60,000 = 4.16 epochs."""
    record = new_run(unit="epochs", amount=5)
    record.add_losses([2.3] * 3904)
    record.model = make_model()
    _, card = export_run(record, tmp_path)
    training = json.loads(card.read_text())["training"]
    assert training["epochs"] == pytest.approx(3904 * 64 / 60000)
    assert training["max_steps"] == 3904


def test_seconds_left_follow_the_speed_within_the_clock_cap():
    record = new_run(unit="steps", amount=100)
    record.max_seconds = 30.0
    assert record.seconds_left() == 30.0  # nothing measured yet
    record.add_losses([2.3] * 10)
    record.elapsed = 1.0  # 10 steps a second: 90 steps left
    assert record.seconds_left() == pytest.approx(9.0)
    record.elapsed = 25.0  # slow: the clock cap ends it first
    assert record.seconds_left() == pytest.approx(5.0)


def test_a_run_with_no_cpu_time_still_counts_down_on_its_clock():
    """A busy machine may give the run (SCHED_IDLE) no time at all: no step, no progress
    event, but its 30 s clock runs, and so does the estimate."""
    record = new_run(unit="steps", amount=100)
    record.max_seconds = 30.0
    record.clock_start = time.perf_counter() - 12.0
    assert record.seconds_left() == pytest.approx(18.0, abs=0.5)
    record.add_losses([2.3] * 10)
    record.elapsed = 1.0  # 10 steps in its first second, then nothing for 11 s
    assert record.seconds_left() == pytest.approx(9.0)  # by speed: sooner than the clock
    record.clock_start -= 20.0  # 32 s on the clock
    assert record.seconds_left() == 0.0


# ---------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------


def test_a_session_keeps_its_last_runs():
    session = StudentSession()
    records = [new_run(session) for _ in range(runs.MAX_RUNS_KEPT + 2)]
    assert [r.run_id for r in records] == list(range(1, runs.MAX_RUNS_KEPT + 3))
    assert session.runs == records[-runs.MAX_RUNS_KEPT :]
    assert session.find_run(str(records[-1].run_id)) is records[-1]
    assert session.find_run(1) is None


def test_a_session_keeps_only_a_few_models_and_the_one_it_draws_with():
    session = StudentSession()
    records = []
    for _ in range(runs.MAX_MODELS_KEPT + 2):
        records.append(new_run(session))
        records[-1].model = make_model(16, seed=0)
        session.draw_model = records[0].model  # the first run's model answers the Draw tab
    new_run(session)  # one more press: the oldest models beyond the last few go
    kept = [record for record in session.runs if record.has_model]
    assert kept == [records[0], *records[-runs.MAX_MODELS_KEPT + 1 :]]


def test_clearing_keeps_the_running_run_and_the_draw_model():
    model = make_model(16, seed=0)
    session = StudentSession(draw_model=model)
    finished, stopped, running = (new_run(session) for _ in range(3))
    finished.status, stopped.status = FINISHED, STOPPED
    assert running.status == RUNNING
    session.clear_finished()
    assert session.runs == [running]
    assert session.draw_model is model
    assert new_run(session).run_id == 4  # run numbers are never reused


def test_ending_a_session_removes_its_download_folder(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "mnist_mlp_run1.pt").write_bytes(b"weights")
    session = StudentSession(export_dir=str(folder))
    session.end()
    assert not folder.exists()
    StudentSession().end()  # no folder: nothing to do


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


def test_export_writes_weights_and_a_card_that_load_back(tmp_path):
    record = new_run(optimizer="sgd", lr=0.1, unit="steps", amount=20)
    model = runs.initial_model(record.config)
    run_to_end(record, model, blobs(), blobs(100))
    weights, card = runs.export_run(record, tmp_path)
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
    model = runs.initial_model(record.config)
    run_to_end(record, model, train_set, blobs(100))
    command = runs.reproduce_command(record).split()[3:]  # after "python -m mnist_demo.train"
    monkeypatch.setattr(train_module, "load_mnist", lambda train, root=None: train_set)
    out = tmp_path / "again.pt"
    train_module.main([*command, "--out", str(out)])
    again = load_model(out)
    for ours, theirs in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.allclose(ours, theirs, atol=1e-6)
    # Only runs on all the images from random weights get a command.
    assert runs.reproduce_command(new_run(train_size=1000)) is None
    assert runs.reproduce_command(new_run(init="shipped")) is None


def test_a_diverged_run_has_nothing_to_export(tmp_path):
    record = new_run()
    record.status = DIVERGED
    with pytest.raises(RunSettingsError, match="no weights"):
        runs.export_run(record, tmp_path)
