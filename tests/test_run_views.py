"""What the Train tab says about a run: the note on a run that learnt nothing."""

import torch

from mnist_demo.classroom.background import run_training
from mnist_demo.classroom.runs import (
    FINISHED,
    RunRecord,
    StudentSession,
    apply_caps,
    config_from_form,
    initial_model,
)
from mnist_demo.data import shared_data
from mnist_demo.evaluate import Evaluation
from mnist_demo.ui.run_views import LEARNT_NOTHING_BELOW, learnt_nothing_note, session_curves

from helpers import new_run


def new_run_in(session: StudentSession, lr: float) -> RunRecord:
    config, notes = apply_caps(config_from_form(lr=lr))
    return session.start_run(config, notes)


def real_run(**form) -> RunRecord:
    record = new_run(**form)
    train_set, test_set = shared_data()
    list(run_training(record, initial_model(record.config), train_set, test_set))
    return record


def with_result(record: RunRecord, accuracy: float, dead_units: int) -> RunRecord:
    record.result = Evaluation(
        test_accuracy=accuracy,
        confusion=torch.zeros(10, 10, dtype=torch.long),
        mistakes=[],
        test_images=10_000,
        dead_units=dead_units,
        hidden_units=128,
    )
    return record


def test_a_run_that_learnt_nothing_says_why(mnist_dir):
    """SGD with momentum at rate 1 "finishes" at chance level: the result explains it."""
    record = real_run(optimizer="momentum", lr=1.0, unit="steps", amount=300)
    assert record.status == FINISHED and record.result.test_accuracy < LEARNT_NOTHING_BELOW
    note = learnt_nothing_note(record)
    assert "learnt next to nothing" in note and "too large" in note
    assert record.result.hidden_units == 128


def test_a_run_that_learnt_has_no_such_note(mnist_dir):
    record = real_run(optimizer="adam", lr=1e-3, unit="steps", amount=150, train_size=3000)
    assert learnt_nothing_note(record) is None
    assert record.result.dead_units < record.result.hidden_units / 2


def test_the_note_names_dead_units_and_what_to_try():
    dead = learnt_nothing_note(with_result(new_run(lr=0.5), accuracy=0.098, dead_units=120))
    assert "9.8%" in dead and "120 of its 128 hidden ReLU units" in dead
    assert "A learning rate of 0.5 makes steps too large" in dead
    slow = learnt_nothing_note(with_result(new_run(lr=1e-4), accuracy=0.15, dead_units=3))
    assert "hidden ReLU units" not in slow and "Train for more steps" in slow
    at_the_bar = with_result(new_run(), accuracy=LEARNT_NOTHING_BELOW, dead_units=128)
    assert learnt_nothing_note(at_the_bar) is None
    assert learnt_nothing_note(new_run()) is None  # no result yet: nothing to say


def test_a_run_with_the_same_settings_as_an_earlier_one_says_its_curve_is_the_same():
    """Review m10: two identical runs overlap exactly, so run #1 "disappeared" behind #3."""
    session = StudentSession()
    first, other, again = (new_run_in(session, lr) for lr in (1e-3, 0.01, 1e-3))
    labels = [curves.label for curves in session_curves(session)]
    assert labels[0] == first.legend and labels[1] == other.legend
    assert labels[2] == f"{again.legend} (= #1: same curve)"


def test_the_charts_get_each_curve_where_it_belongs():
    """Regression: the held-out accuracy was drawn as the test loss (and the loss as the
    accuracy): the dashed line rose from 0.1 to 0.9 while the training loss fell."""
    session = StudentSession()
    record = new_run_in(session, 1e-3)
    record.add_losses([2.3, 1.0])
    record.add_evaluation(0, 2.31, 0.1)
    record.add_evaluation(2, 0.9, 0.7)
    (curves,) = session_curves(session)
    assert curves.losses == [2.3, 1.0] and curves.eval_steps == [0, 2]
    assert curves.eval_losses == [2.31, 0.9] and curves.eval_accuracies == [0.1, 0.7]
