"""The Draw tab's handler, called directly: what a stroke shows."""

import numpy as np
import pytest

from mnist_demo.model import make_model
from mnist_demo.ui.draw_tab import EMPTY_MESSAGE, classify_drawing, model_code, probability_frame

from drawings import CENTERED, draw_layer, sketchpad_value


def test_a_stroke_shows_the_digit_bars_image_and_numbers():
    headline, bars, seen, numbers = classify_drawing(sketchpad_value(draw_layer(7, CENTERED)))
    assert "**7**" in headline
    assert list(bars["digit"]) == [str(d) for d in range(10)]
    assert bars["probability"].sum() == pytest.approx(1.0, abs=1e-4)
    assert (bars["kind"] == "top guess").sum() == 1 and bars.loc[7, "kind"] == "top guess"
    assert seen.startswith('<img src="data:image/png;base64,') and 'width="168"' in seen
    assert list(numbers.columns) == ["digit", "logit", "softmax", "log_softmax"]
    assert np.allclose(np.exp(numbers["log_softmax"]), numbers["softmax"], atol=2e-3)


def test_empty_canvas_shows_draw_a_digit_not_a_prediction():
    headline, bars, seen, numbers = classify_drawing(None)
    assert headline == EMPTY_MESSAGE
    assert bars["probability"].sum() == 0  # no made-up prediction
    assert "<img" not in seen and len(numbers) == 0
    blank = {
        "background": np.full((280, 280, 4), 255, np.uint8),
        "layers": [np.zeros((280, 280, 4), np.uint8)],
        "composite": None,
    }
    assert classify_drawing(blank)[0] == EMPTY_MESSAGE


def test_a_students_own_model_is_used_for_their_session_only():
    drawing = sketchpad_value(draw_layer(7, CENTERED))
    shipped = classify_drawing(drawing, {"draw_model": None})[1]["probability"]
    own = classify_drawing(drawing, {"draw_model": make_model(seed=0)})[1]["probability"]
    assert not np.allclose(shipped, own)
    assert np.allclose(classify_drawing(drawing, {"draw_model": None})[1]["probability"], shipped)


def test_non_images_become_a_gradio_error():
    import gradio as gr

    with pytest.raises(gr.Error):
        classify_drawing(np.zeros((5, 5, 7), np.uint8))


def test_bar_data_marks_the_top_digit():
    frame = probability_frame([0.1] * 3 + [0.7] + [0.0] * 6)
    assert frame.loc[3, "kind"] == "top guess"


def test_model_code_shows_both_forms_and_the_parameter_count():
    code = model_code()
    assert "class MNISTClassifier(nn.Module)" in code and "nn.Sequential" in code
    assert "101,770" in code


def test_the_pad_decodes_only_the_strokes(tmp_path):
    import gradio as gr
    from gradio.components.image_editor import EditorData
    from gradio.data_classes import FileData
    from PIL import Image

    from mnist_demo.ui.draw_tab import decode_strokes_only

    value = sketchpad_value(draw_layer(7, CENTERED))
    files = {}
    for name, pixels in (
        ("background", value["background"]),
        ("layer", value["layers"][0]),
        ("composite", value["composite"]),
    ):
        files[name] = tmp_path / f"{name}.png"
        Image.fromarray(pixels).save(files[name])
    pad = decode_strokes_only(gr.Sketchpad(type="numpy", image_mode="RGBA", render=False))
    payload = EditorData(
        background=FileData(path=str(files["background"])),
        layers=[FileData(path=str(files["layer"]))],
        composite=FileData(path=str(files["composite"])),
    )
    decoded = pad.preprocess(payload)
    assert decoded["background"] is None and decoded["composite"] is None
    assert np.array_equal(decoded["layers"][0], value["layers"][0])
    assert "**7**" in classify_drawing(decoded)[0]
