"""The Draw tab's handler, called directly: what a stroke shows."""

import numpy as np
import pandas as pd
import pytest

from mnist_demo.classroom.runs import StudentSession
from mnist_demo.model import make_model
from mnist_demo.ui.draw_tab import (
    EMPTY_MESSAGE,
    bar_data,
    classify_drawing,
    model_code,
)

from drawings import CENTERED, canvas_data_url, draw_layer, sketchpad_value


def as_frame(bars: dict) -> pd.DataFrame:
    """The bar chart's data as a DataFrame, to read it by column."""
    return pd.DataFrame(bars["data"], columns=bars["columns"])


def test_a_stroke_shows_the_digit_bars_image_and_numbers():
    view = classify_drawing(sketchpad_value(draw_layer(7, CENTERED)))
    assert "**7**" in view.answer
    bars, seen, numbers = as_frame(view.bars), view.seen, view.numbers
    assert list(bars["digit"]) == [str(d) for d in range(10)]
    assert bars["probability"].sum() == pytest.approx(1.0, abs=1e-4)
    assert (bars["kind"] == "top guess").sum() == 1 and bars.loc[7, "kind"] == "top guess"
    assert seen.startswith('<img src="data:image/png;base64,') and 'width="168"' in seen
    assert list(numbers.columns) == ["digit", "logit", "softmax", "log_softmax"]
    assert np.allclose(np.exp(numbers["log_softmax"]), numbers["softmax"], atol=2e-3)


def test_empty_canvas_shows_draw_a_digit_not_a_prediction():
    view = classify_drawing(None)
    assert view.answer == EMPTY_MESSAGE
    assert as_frame(view.bars)["probability"].sum() == 0  # no made-up prediction
    assert "<img" not in view.seen and len(view.numbers) == 0
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
    assert (numbers["softmax"] > 0).all()  # the shipped model is sure: others are ~1e-10
    assert numbers["softmax"].min() < 1e-4
    log_of_shown = np.log(numbers["softmax"].to_numpy())
    assert np.allclose(log_of_shown, numbers["log_softmax"], atol=0.01)  # 3 significant digits
