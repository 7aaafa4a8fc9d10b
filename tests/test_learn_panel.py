"""Learn from this drawing: the student's own copy learns; the shipped model never changes."""

import gradio as gr
import pytest
import torch
from gradio_client import Client

from mnist_demo.checkpoint import load_model
from mnist_demo.classroom.runs import StudentSession
from mnist_demo.predict import predict, shipped_model
from mnist_demo.ui.learn_panel import learn, reset

from helpers import SEVEN


def loss_of(model, digit: int) -> float:
    logits = predict(SEVEN, model).logits.unsqueeze(0)
    return torch.nn.functional.cross_entropy(logits, torch.tensor([digit])).item()


def test_learning_teaches_the_students_copy_only(mnist_dir):
    session = StudentSession()
    text, bars = learn(SEVEN, 1, "adam", 1e-3, session)
    assert session.draw_model is not None and session.draw_model is not shipped_model()
    assert loss_of(session.draw_model, 1) < loss_of(shipped_model(), 1)
    assert "1 step of Adam (lr 0.001) towards 1" in text and "Held-out:" in text
    assert "on 1,000 held-out test digits" in text
    assert bars.startswith("<svg") and "p(1) went from" in bars
    for name, tensor in load_model().state_dict().items():  # the shipped model: untouched
        assert torch.equal(tensor, shipped_model().state_dict()[name])
    assert session.draw_model_name == "your model after 1 step on your drawings"

    learn(SEVEN, 1, "sgd", 0.01, session, steps=10)  # from the student's copy, not shipped
    assert session.taught_steps == 11
    assert session.draw_model_name == "your model after 11 steps on your drawings"

    assert reset(session)[0].startswith("Back to the shipped model")
    assert session.draw_model is None and session.taught_steps == 0


@pytest.mark.parametrize(
    "canvas, meant, lr, message",
    [
        (SEVEN, None, 1e-3, "choose the digit you meant"),
        ("", 7, 1e-3, "Draw a digit first"),
        (SEVEN, 7, float("nan"), "lr"),
        (SEVEN, 12, 1e-3, "one of 0-9"),
    ],
)
def test_what_cannot_be_learnt_is_a_clear_error(canvas, meant, lr, message):
    session = StudentSession()
    with pytest.raises(gr.Error, match=message):
        learn(canvas, meant, "adam", lr, session)
    assert session.draw_model is None


@pytest.mark.slow
def test_two_students_learning_stay_apart(launched_app):
    teacher, other = Client(launched_app, verbose=False), Client(launched_app, verbose=False)
    before = other.predict(SEVEN, api_name="/predict")[1]
    teacher.predict(SEVEN, 1, "adam", 0.001, api_name="/learn_10")
    taught = teacher.predict(SEVEN, api_name="/predict")
    assert "The network says **1**" in taught[0]  # ten steps towards 1: it answers 1
    assert other.predict(SEVEN, api_name="/predict")[1] == before  # the other: unchanged
    teacher.predict(api_name="/reset_draw_model")
    assert teacher.predict(SEVEN, api_name="/predict")[1] == before
