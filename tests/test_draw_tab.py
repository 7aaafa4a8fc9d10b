"""The Draw tab's handler, called directly: what a stroke shows."""

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

from mnist_demo.classroom.runs import StudentSession
from mnist_demo.model import make_model
from mnist_demo.ui.draw_tab import (
    EMPTY_MESSAGE,
    bar_data,
    bar_label_value,
    classify_drawing,
    model_code,
    sure_text,
)

from drawings import CENTERED, canvas_data_url, draw_layer, sketchpad_value


def as_frame(bars: dict) -> pd.DataFrame:
    """The bar chart's data as a DataFrame, to read it by column."""
    return pd.DataFrame(bars["data"], columns=bars["columns"])


def as_number(text: str) -> float:
    """A number as the table prints it: "0.1234", "6.6e-14", "-2.4e-06" or "1 − 2.4e-06"."""
    text = text.replace("\xa0", " ")
    if text.startswith("1 − "):
        return 1.0 - float(text.removeprefix("1 − "))
    return float(text)


def texts(numbers: dict, name: str, key: str = "data") -> list[str]:
    """A column of the numbers table (whose header may also carry the sum), as its texts."""
    (index,) = [
        i
        for i, header in enumerate(numbers["headers"])
        if header.replace("\u200b", "").split()[0] == name
    ]
    rows = numbers["data"] if key == "data" else numbers["metadata"][key]
    return [row[index] for row in rows]


def column(numbers: dict, name: str) -> np.ndarray:
    """A column of the numbers table as numbers."""
    return np.array([as_number(text) for text in texts(numbers, name)])


def test_a_stroke_shows_the_digit_bars_image_and_numbers():
    view = classify_drawing(sketchpad_value(draw_layer(7, CENTERED)))
    assert "**7**" in view.answer
    bars, seen, numbers = as_frame(view.bars), view.seen, view.numbers
    assert list(bars["digit"]) == [str(d) for d in range(10)]
    assert bars["probability"].sum() == pytest.approx(1.0, abs=1e-4)
    assert (bars["kind"] == "top guess").sum() == 1 and bars.loc[7, "kind"] == "top guess"
    assert seen.startswith('<img src="data:image/png;base64,') and 'width="168"' in seen
    headers = [h.replace("\u200b", "").split()[0] for h in numbers["headers"]]
    assert headers == ["digit", "logit", "softmax", "log_softmax"]
    assert np.allclose(
        np.exp(column(numbers, "log_softmax")), column(numbers, "softmax"), atol=2e-3
    )


def test_empty_canvas_shows_draw_a_digit_not_a_prediction():
    view = classify_drawing(None)
    assert view.answer == EMPTY_MESSAGE
    assert as_frame(view.bars)["probability"].sum() == 0  # no made-up prediction
    assert "<img" not in view.seen and view.numbers["data"] == []
    blank = {
        "background": np.full((280, 280, 4), 255, np.uint8),
        "layers": [np.zeros((280, 280, 4), np.uint8)],
        "composite": None,
    }
    assert classify_drawing(blank).answer == EMPTY_MESSAGE


def test_a_students_own_model_is_used_for_their_session_only():
    drawing = sketchpad_value(draw_layer(7, CENTERED))

    def probabilities(session: StudentSession) -> pd.Series:
        return as_frame(classify_drawing(drawing, session).bars)["probability"]

    shipped = probabilities(StudentSession())
    assert not np.allclose(shipped, probabilities(StudentSession(draw_model=make_model(seed=0))))
    assert np.allclose(probabilities(StudentSession()), shipped)


def test_non_images_become_a_gradio_error():
    import gradio as gr

    with pytest.raises(gr.Error):
        classify_drawing(np.zeros((5, 5, 7), np.uint8))


def test_bar_data_marks_the_top_digit():
    frame = as_frame(bar_data([0.1] * 3 + [0.7] + [0.0] * 6))
    assert frame.loc[3, "kind"] == "top guess"
    assert (frame["kind"] == "top guess").sum() == 1


@pytest.mark.parametrize(
    "probabilities", [[0.1] * 3 + [0.7] + [0.0] * 6, [9.26e-11] * 9 + [1.0 - 9 * 9.26e-11]]
)
def test_bar_data_is_what_gradio_sends_for_the_same_dataframe(probabilities):
    """The bar chart's data is built without pandas, in the form gr.BarPlot makes of a
    DataFrame: the browser gets the same columns, rows, column kinds and mark."""
    import gradio as gr

    top = int(np.argmax(probabilities))
    frame = pd.DataFrame(  # the chart's data the usual way, independently of bar_data
        {
            "digit": [str(digit) for digit in range(10)],
            "probability": probabilities,
            "kind": ["top guess" if digit == top else "other digits" for digit in range(10)],
        }
    )
    frame["probability"] = [bar_label_value(p) for p in probabilities]  # labels: 4 digits
    plot = gr.BarPlot(x="digit", y="probability", color="kind")
    gradios = plot.postprocess(frame).model_dump()
    ours = bar_data(probabilities)
    assert plot.postprocess(ours) == ours  # Gradio sends a dict on as it is
    assert {key: ours[key] for key in ("columns", "datatypes", "mark")} == {
        key: gradios[key] for key in ("columns", "datatypes", "mark")
    }
    assert [row[0::2] for row in ours["data"]] == [row[0::2] for row in gradios["data"]]
    assert np.allclose([row[1] for row in ours["data"]], [row[1] for row in gradios["data"]])


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
    assert from_pad.bars == classify_drawing(layer).bars


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
    softmax = column(numbers, "softmax")
    assert (softmax > 0).all()  # the shipped model is sure: others are ~1e-10
    assert softmax.min() < 1e-4
    log_of_shown = np.log(softmax)
    assert np.allclose(log_of_shown, column(numbers, "log_softmax"), atol=0.06)  # 2 digits


def test_the_numbers_never_round_a_sure_answer_to_1_and_0():
    """m5: the top guess of a sure network prints as 1 − 2.4e-06 and -2.4e-06, not 1 and 0;
    one format per column; the top guess marked (its data stays the digit); the sums in the
    headers."""
    numbers = classify_drawing(canvas_data_url(draw_layer(7, CENTERED))).numbers
    logits = torch.tensor([float(x) for x in texts(numbers, "logit")], dtype=torch.float64)
    exact = torch.log_softmax(logits, dim=0)  # float64: the reference
    assert texts(numbers, "digit") == [str(d) for d in range(10)]  # what API callers read
    shown = texts(numbers, "digit", "display_value")
    assert shown[7] == "7 ◀ top" and shown[:7] == [str(d) for d in range(7)]
    styles = numbers["metadata"]["styling"]
    assert all("font-weight: bold" in style for style in styles[7])  # the top guess's row
    assert not any("bold" in style for row in styles[:7] for style in row)
    top = texts(numbers, "softmax")[7]
    assert re.fullmatch(r"0\.9{4,}\d+", top), top  # e.g. 0.9999976: a digit short of 1
    assert 1 - as_number(top) == pytest.approx(-float(exact[7]), rel=0.05)
    assert all(re.fullmatch(r"-?\d+\.\d{4}", text) for text in texts(numbers, "logit"))
    for text in texts(numbers, "log_softmax"):
        assert re.fullmatch(r"-\d+\.\d{4}|-\d\.\de-\d\d", text), text  # never "0"
    assert numbers["headers"][2] == "softmax (sum 1.0000)"
    header = numbers["headers"][3].replace("\u200b", "")  # log_ may break before softmax
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
    bars = classify_drawing(canvas_data_url(draw_layer(7, CENTERED))).bars
    assert all(
        len(f"{value:g}".split("e")[0].replace(".", "").lstrip("0")) <= 4
        for _, value, _ in bars["data"]
    )


def test_the_seen_picture_says_when_bold_strokes_were_thinned():
    """Issue 16: a small digit drawn with the boldest brush is thinned to MNIST's stroke
    width before scaling; the 28x28 picture says so, and a default drawing says nothing."""
    bold = canvas_data_url(draw_layer(2, (10, 10, 90, 100), brush_radius=24))
    thinned = classify_drawing(bold).seen
    assert "thinned" in thinned and "MNIST's are about 12%" in thinned
    default = canvas_data_url(draw_layer(7, CENTERED))
    assert "seen-note" not in classify_drawing(default).seen
