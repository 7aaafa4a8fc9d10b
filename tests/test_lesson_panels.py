"""The Draw tab walks the lesson on a drawing: its loss, why this answer, the hidden layer."""

import math
import re

import gradio as gr
import pytest
import torch
import torch.nn.functional as F
from table_text import table_rows

from mnist_demo.classroom.runs import StudentSession
from mnist_demo.explain import hidden_activations
from mnist_demo.model import make_model
from mnist_demo.predict import predict, shipped_model, shipped_test_accuracy
from mnist_demo.preprocess import image_to_tensor
from mnist_demo.ui.draw_tab import choose_meant, classify_drawing
from mnist_demo.ui.lesson_panels import (
    CHOOSE_DIGIT,
    NOTHING_DRAWN,
    inside_html,
    meant_digit,
    meant_markdown,
    model_line,
    why_html,
)

from helpers import SEVEN


@pytest.fixture(scope="module")
def seven():
    return predict(SEVEN, shipped_model())


@pytest.mark.parametrize("meant", [7, 1, 3])
def test_the_loss_is_minus_log_p_and_the_three_ways_agree_with_pytorch(seven, meant):
    text = meant_markdown(seven, meant)
    expected = F.cross_entropy(seven.logits.unsqueeze(0), torch.tensor([meant])).item()
    p, loss = re.search(r"-log\(((?:1\xa0−\xa0)?[0-9.e-]+)\) = ([0-9.e-]+)", text).groups()
    assert float(loss) == pytest.approx(expected, rel=0.05, abs=1e-4)
    if "−" in p:  # a sure answer: 1 − the rest, never "1"
        assert float(p.split("−")[1]) == pytest.approx(expected, rel=0.05)
    else:
        assert -math.log(float(p)) == pytest.approx(expected, rel=0.01, abs=0.005)
    ways = [float(row[-1]) for row in table_rows(text)[1:]]
    assert len(ways) == 3 and ways == pytest.approx([expected] * 3, rel=0.05, abs=1e-4)


def test_no_choice_and_no_drawing_say_what_to_do(seven):
    assert meant_markdown(seven, None) == CHOOSE_DIGIT
    assert meant_markdown(None, 3) == NOTHING_DRAWN


def test_the_maps_sums_are_the_logits(seven):
    html = why_html(seven, shipped_model(), meant=3)
    sums = re.findall(r"<code>(-?[0-9.]+) \+ \((-?[0-9.]+)\) = (-?[0-9.]+)</code>", html)
    assert len(sums) == 2  # the top guess (7) and the digit meant (3)
    for (pixels, bias, logit), digit in zip(sums, (7, 3), strict=True):
        assert float(logit) == pytest.approx(seven.logits[digit].item(), abs=0.006)
        assert float(pixels) + float(bias) == pytest.approx(float(logit), abs=0.011)
    assert "-0.42" in html  # why the empty background pushes too


def test_the_hidden_layer_counts_its_zeros(seven):
    model = shipped_model()
    zeros = int((hidden_activations(model, image_to_tensor(seven.image)) == 0).sum())
    assert f"{zeros} of 128</b> are exactly 0" in inside_html(seven, model)


@pytest.mark.parametrize("value, digit", [(None, None), ("", None), (3, 3), ("3", 3), (0, 0)])
def test_the_digit_meant_is_read_as_a_digit(value, digit):
    assert meant_digit(value) == digit


@pytest.mark.parametrize("value", [10, -1, "x", 3.5, "3; DROP", [3]])
def test_anything_else_is_refused_with_a_message(value):
    with pytest.raises(gr.Error, match="one of 0-9"):
        meant_digit(value)


def test_the_digit_meant_stays_while_the_student_draws():
    session = StudentSession()
    choose_meant("3", session)
    assert session.meant == 3
    assert "You meant 3" in classify_drawing(SEVEN, session, session.meant).meant
    assert classify_drawing("", session, session.meant).meant == NOTHING_DRAWN


def test_the_tab_says_which_model_answers():
    accuracy = shipped_test_accuracy()  # from its card: checkpoints/mnist_mlp.json
    assert 0.98 < accuracy < 1
    assert f"the shipped model ({accuracy:.2%} on the 10,000 MNIST test images)" in model_line(None)
    own = StudentSession(draw_model=make_model(seed=0), draw_model_name="your run #2 (95.8%)")
    assert model_line(own) == "**Answering:** your run #2 (95.8%)."
    assert "shipped" in model_line(StudentSession(draw_model_name="stale name"))


def test_closed_panels_cost_nothing_and_open_ones_are_answered():
    from mnist_demo.ui.draw_tab import show_panel, stroke_options

    session = StudentSession()
    closed = classify_drawing(SEVEN, session, *stroke_options(SEVEN, session))
    assert closed.why == closed.inside == ""  # nothing computed, nothing sent
    show_panel("why", True)(session)
    opened = classify_drawing(SEVEN, session, *stroke_options(SEVEN, session))
    assert "logit of 7" in opened.why and opened.inside == ""
    show_panel("why", False)(session)
    assert stroke_options(SEVEN, session) == (None, ())
