"""The Draw tab's handler, called directly: what a stroke shows."""

import math
import re

import numpy as np
import pytest
import torch

from mnist_demo import bar_chart
from mnist_demo.bar_chart import bar_label_value
from mnist_demo.classroom.runs import StudentSession
from mnist_demo.model import make_model
from mnist_demo.predict import predict, shipped_model
from mnist_demo.ui.draw_tab import (
    BAR_CAPTION,
    BARS_LABEL,
    EMPTY_MESSAGE,
    NO_NUMBERS,
    NUMBERS_LABEL,
    bars_html,
    classify_drawing,
    model_code,
    sure_text,
)
from mnist_demo.ui.drawing_pad import BRUSH_RANGE
from mnist_demo.ui.palette import OTHER, TOP_GUESS

from drawings import CENTERED, canvas_data_url, draw_layer, sketchpad_value
from html_outputs import as_number, column, read_bars, read_table


def numbers_of(markup: str, name: str) -> np.ndarray:
    """A column of the numbers table as numbers."""
    return np.array([as_number(text) for text in column(read_table(markup), name)])


def probabilities_of(markup: str) -> np.ndarray:
    return np.array([bar["probability"] for bar in read_bars(markup)])


def test_a_stroke_shows_the_digit_bars_image_and_numbers():
    view = classify_drawing(sketchpad_value(draw_layer(7, CENTERED)))
    assert "**7**" in view.answer
    bars, seen, numbers = read_bars(view.bars), view.seen, read_table(view.numbers)
    assert [bar["digit"] for bar in bars] == list(range(10))
    assert sum(bar["probability"] for bar in bars) == pytest.approx(1.0, abs=1e-3)
    assert [bar["kind"] for bar in bars].count("top guess") == 1
    assert bars[7]["kind"] == "top guess" and bars[7]["fill"] == TOP_GUESS
    assert {bar["fill"] for bar in bars[:7] + bars[8:]} == {OTHER}
    assert BARS_LABEL in view.bars and BAR_CAPTION in view.bars
    assert seen.startswith('<img src="data:image/png;base64,') and 'width="168"' in seen
    assert numbers.caption == NUMBERS_LABEL
    headers = [h.replace("\u200b", "").split()[0] for h in numbers.headers]
    assert headers == ["digit", "logit", "softmax", "log_softmax"]
    assert np.allclose(
        np.exp(numbers_of(view.numbers, "log_softmax")),
        numbers_of(view.numbers, "softmax"),
        atol=2e-3,
    )


def test_empty_canvas_shows_draw_a_digit_not_a_prediction():
    view = classify_drawing(None)
    assert view.answer == EMPTY_MESSAGE
    bars = read_bars(view.bars)
    assert len(bars) == 10 and all(bar["probability"] == 0 for bar in bars)
    assert all(bar["kind"] != "top guess" for bar in bars)  # no made-up prediction
    assert "<img" not in view.seen
    assert NO_NUMBERS in view.numbers and "<table" not in view.numbers
    blank = {
        "background": np.full((280, 280, 4), 255, np.uint8),
        "layers": [np.zeros((280, 280, 4), np.uint8)],
        "composite": None,
    }
    assert classify_drawing(blank).answer == EMPTY_MESSAGE


def test_a_students_own_model_is_used_for_their_session_only():
    drawing = sketchpad_value(draw_layer(7, CENTERED))

    def probabilities(session: StudentSession) -> np.ndarray:
        return probabilities_of(classify_drawing(drawing, session).bars)

    shipped = probabilities(StudentSession())
    assert not np.allclose(shipped, probabilities(StudentSession(draw_model=make_model(seed=0))))
    assert np.allclose(probabilities(StudentSession()), shipped)


def test_non_images_become_a_gradio_error():
    import gradio as gr

    with pytest.raises(gr.Error):
        classify_drawing(np.zeros((5, 5, 7), np.uint8))


def test_the_bars_mark_the_top_digit():
    bars = read_bars(bars_html([0.1] * 3 + [0.7] + [0.0] * 6))
    assert [bar["kind"] for bar in bars] == ["other digits"] * 3 + ["top guess"] + [
        "other digits"
    ] * 6
    assert [bar["fill"] for bar in bars].count(TOP_GUESS) == 1


@pytest.mark.parametrize("digit", [7, 1, 0])
def test_the_bars_and_numbers_are_torchs_softmax_of_the_models_logits(digit):
    """What the tab shows of a drawing, read back from its SVG and its table, against
    torch.softmax and torch.log_softmax of the shipped model's logits for the same input."""
    canvas = canvas_data_url(draw_layer(digit, CENTERED))
    view = classify_drawing(canvas)
    with torch.no_grad():
        logits = shipped_model()(predict(canvas).input)[0].double()  # (10,)
    softmax = torch.softmax(logits, dim=0)
    log_softmax = torch.log_softmax(logits, dim=0)

    bars = read_bars(view.bars)
    plot_height = bar_chart.HEIGHT - bar_chart.TOP - bar_chart.BOTTOM  # 0 to 1
    heights = np.array([bar["height"] / plot_height for bar in bars])
    assert np.allclose(heights, softmax.numpy(), atol=0.001)  # drawn to scale, 0 to 1
    assert [bar["probability"] for bar in bars] == [bar_label_value(p) for p in softmax.tolist()]
    assert bars[int(softmax.argmax())]["kind"] == "top guess"

    table = read_table(view.numbers)
    assert np.allclose(numbers_of(view.numbers, "logit"), logits.numpy(), atol=6e-5)
    assert np.allclose(numbers_of(view.numbers, "softmax"), softmax.numpy(), rtol=0.06, atol=1e-4)
    assert np.allclose(numbers_of(view.numbers, "log_softmax"), log_softmax.numpy(), rtol=0.06)
    top = int(softmax.argmax())
    assert table.bold == [d == top for d in range(10)]


def test_model_code_shows_both_forms_and_the_parameter_count():
    code = model_code()
    assert "class MNISTClassifier(nn.Module)" in code and "nn.Sequential" in code
    assert "101,770" in code


def test_what_the_pad_sends_is_classified_like_the_drawing_itself():
    """The pad sends its picture as a PNG data URL: the same answer as the pixels."""
    layer = draw_layer(7, CENTERED)
    from_pad = classify_drawing(canvas_data_url(layer))
    assert "**7**" in from_pad.answer
    assert from_pad.answer == classify_drawing(layer).answer
    assert from_pad.bars == classify_drawing(layer).bars  # the same SVG


def test_a_cleared_pad_sends_an_empty_string_and_gets_draw_a_digit():
    assert classify_drawing("").answer == EMPTY_MESSAGE


def test_a_stroke_is_answered_in_one_worker_thread_hand_over(monkeypatch):
    """Answered in the server (no stroke process here), the handler takes one worker thread;
    it must not also pass the pad's value and each output through threads of their own
    (under load each hand-over waits for the GIL). The browser still receives exactly what
    Gradio's own processing gives."""
    import asyncio
    import copy

    import anyio.to_thread
    import gradio as gr
    from gradio.state_holder import SessionState

    from mnist_demo.ui.draw_tab import build_draw_tab

    with gr.Blocks() as demo:
        build_draw_tab(gr.State(None))
    stroke = next(fn for fn in demo.fns.values() if fn.api_name == "predict")
    # The same event the plain way: classify_drawing, with Gradio's pre- and postprocessing.
    plain = copy.copy(stroke)
    plain.fn, plain.preprocess, plain.postprocess = classify_drawing, True, True

    def answer(event) -> tuple[list, int]:
        """What the browser receives for one stroke, and the worker-thread hand-overs."""
        hand_overs = []
        real_run_sync = anyio.to_thread.run_sync

        async def counting_run_sync(function, *args, **kwargs):
            hand_overs.append(function)
            return await real_run_sync(function, *args, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(anyio.to_thread, "run_sync", counting_run_sync)
            output = asyncio.run(
                demo.process_api(
                    block_fn=event,
                    inputs=[canvas_data_url(draw_layer(7, CENTERED)), None],
                    state=SessionState(demo),
                    request=None,
                )
            )
        return output["data"], len(hand_overs)

    sent, hand_overs = answer(stroke)
    sent_the_plain_way, plain_hand_overs = answer(plain)
    # the plain way: the pad, the handler, then each of the 8 outputs
    assert hand_overs == 1 and plain_hand_overs == 1 + 1 + 8
    assert sent == sent_the_plain_way
    assert "The network says **7**" in sent[0]


def test_the_numbers_table_shows_tiny_probabilities_not_zero():
    numbers = classify_drawing(canvas_data_url(draw_layer(7, CENTERED))).numbers
    softmax = numbers_of(numbers, "softmax")
    assert (softmax > 0).all()  # the shipped model is sure: others are ~1e-10
    assert softmax.min() < 1e-4
    log_of_shown = np.log(softmax)
    assert np.allclose(log_of_shown, numbers_of(numbers, "log_softmax"), atol=0.06)  # 2 digits


def test_the_numbers_never_round_a_sure_answer_to_1_and_0():
    """m5: the top guess of a sure network prints as 1 − 2.4e-06 and -2.4e-06, not 1 and 0;
    one format per column; the top guess marked and in bold; the sums in the headers."""
    markup = classify_drawing(canvas_data_url(draw_layer(7, CENTERED))).numbers
    numbers = read_table(markup)
    logits = torch.tensor([float(x) for x in column(numbers, "logit")], dtype=torch.float64)
    exact = torch.log_softmax(logits, dim=0)  # float64: the reference
    digits = column(numbers, "digit")
    assert digits[7] == "7 ◀ top" and digits[:7] + digits[8:] == [
        str(d) for d in range(10) if d != 7
    ]
    assert numbers.bold == [d == 7 for d in range(10)]  # the top guess's row
    top = column(numbers, "softmax")[7]
    assert re.fullmatch(r"0\.9{4,}\d+", top), top  # e.g. 0.9999976: a digit short of 1
    assert 1 - as_number(top) == pytest.approx(-float(exact[7]), rel=0.05)
    assert all(re.fullmatch(r"-?\d+\.\d{4}", text) for text in column(numbers, "logit"))
    for text in column(numbers, "log_softmax"):
        assert re.fullmatch(r"-\d+\.\d{4}|-\d\.\de-\d\d", text), text  # never "0"
    assert numbers.headers[2] == "softmax (sum 1.0000)"
    header = numbers.headers[3].replace("\u200b", "")  # log_ may break before softmax
    shown_sum = float(re.fullmatch(r"log_softmax \(sum (-\d+\.\d\d)\)", header)[1])
    assert shown_sum == pytest.approx(float(exact.sum()), abs=0.01)


@pytest.mark.parametrize(
    ("log_p", "text"),
    [(math.log(0.864), "86%"), (math.log(0.996), "over 99%"), (-2.4e-06, "over 99.9%"),
     (-1e-20, "over 99.9%"), (0.0, "100%")],
)  # fmt: skip
def test_the_headline_never_says_100_percent_sure_when_it_is_not(log_p, text):
    assert sure_text(log_p) == text


def test_the_bar_labels_are_rounded_and_never_say_1():
    """m12: a screen reader hears "0.9999", not "0.999997615814" (nor "1")."""
    assert bar_label_value(0.999997615814) == 0.9999
    assert bar_label_value(0.123456789) == 0.1235
    assert bar_label_value(6.612345e-14) == 6.612e-14
    assert bar_label_value(1.0) == 1.0 and bar_label_value(0.0) == 0.0
    bars = read_bars(classify_drawing(canvas_data_url(draw_layer(7, CENTERED))).bars)
    said = [bar["label"].split(": ")[1].split(",")[0] for bar in bars]  # "0.9999", "2.411e-07"
    assert all(len(text.split("e")[0].replace(".", "").lstrip("0")) <= 4 for text in said), said
    assert all(bar["probability"] < 1 for bar in bars)


def test_the_seen_picture_says_when_bold_strokes_were_thinned():
    """Issue 16: a small digit drawn with the boldest brush is thinned to MNIST's stroke
    width before scaling; the 28x28 picture says so, and a default drawing says nothing."""
    bold = canvas_data_url(draw_layer(2, (10, 10, 90, 100), brush_radius=BRUSH_RANGE[1]))
    thinned = classify_drawing(bold).seen
    assert "thinned" in thinned and "MNIST's are about 12%" in thinned
    default = canvas_data_url(draw_layer(7, CENTERED))
    assert "seen-note" not in classify_drawing(default).seen
