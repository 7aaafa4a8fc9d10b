"""The Draw tab: draw a digit, watch the network's ten probabilities change on every stroke.

The plain functions come first (they are what the tests call); the Gradio wiring is in
`build_draw_tab()` at the end.
"""

import base64
import inspect
from io import BytesIO

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from mnist_demo import model as model_module
from mnist_demo.constants import CLASS_NAMES
from mnist_demo.model import MNISTClassifier, count_parameters
from mnist_demo.predict import Prediction, predict, shipped_model
from mnist_demo.preprocess import EmptyCanvasError

CANVAS_SIZE = 280  # a small canvas: cheap to send on every stroke, 10x MNIST's 28
BRUSH_SIZE = 12  # brush radius in canvas pixels: strokes about as thick as MNIST's
PREVIEW_SCALE = 6  # the 28x28 input is shown 6x larger, with square pixels
PAD_ID = "draw-pad"

EMPTY_MESSAGE = "### ✏️ Draw a digit (0-9) on the canvas\nThe network's answer appears here."


def probability_frame(probabilities: list[float] | None) -> pd.DataFrame:
    """Data for the bar chart: one row per digit; the most likely digit stands out.

    With no prediction every bar is 0. Digit 0 is still labelled "top guess" then (at
    height 0, invisible): the browser updates the chart in place and only ever colours the
    kinds it saw first, so both kinds must be there from the start.
    """
    probabilities = probabilities or [0.0] * len(CLASS_NAMES)
    top = int(np.argmax(probabilities))
    return pd.DataFrame(
        {
            "digit": CLASS_NAMES,
            "probability": probabilities,
            "kind": ["top guess" if i == top else "other digits" for i in range(len(CLASS_NAMES))],
        }
    )


def numbers_table(prediction: Prediction | None) -> pd.DataFrame:
    """The lesson's three views of the same output: logits, softmax and log_softmax."""
    if prediction is None:
        return pd.DataFrame(columns=["digit", "logit", "softmax", "log_softmax"])
    return pd.DataFrame(
        {
            "digit": CLASS_NAMES,
            "logit": np.round(prediction.logits.double().numpy(), 3),
            "softmax": np.round(prediction.probabilities.double().numpy(), 4),
            "log_softmax": np.round(prediction.log_probabilities.double().numpy(), 3),
        }
    )


def enlarge(image28: np.ndarray, scale: int = PREVIEW_SCALE) -> np.ndarray:
    """The 28x28 input as a bigger uint8 picture with square pixels (white ink on black)."""
    pixels = (np.clip(image28, 0.0, 1.0) * 255).astype(np.uint8)
    return np.kron(pixels, np.ones((scale, scale), dtype=np.uint8))


def seen_html(image28: np.ndarray | None) -> str:
    """The 28x28 input as an inline PNG (a few hundred bytes), shown enlarged, square pixels.

    Inline rather than a gr.Image: no file written to Gradio's cache and no second request
    from the browser on every stroke of every student.
    """
    if image28 is None:
        return '<p class="seen-empty">Nothing drawn yet.</p>'
    size = image28.shape[0] * PREVIEW_SCALE
    buffer = BytesIO()
    Image.fromarray((np.clip(image28, 0.0, 1.0) * 255).astype(np.uint8), mode="L").save(
        buffer, format="PNG"
    )
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" width="{size}" height="{size}" '
        f'alt="the 28x28 picture the network sees" style="image-rendering: pixelated">'
    )


def headline(prediction: Prediction) -> str:
    return (
        f"## The network says **{prediction.digit}** ({prediction.confidence:.0%} sure)\n"
        f"Softmax always sums to 1, even for a scribble: a high percentage is not proof."
    )


def classify_drawing(canvas, session: dict | None = None):
    """Stroke handler: canvas -> (headline, bars, 28x28 image, numbers table).

    An empty canvas gives the 'draw a digit' state, never a made-up prediction.
    `session` may hold this student's own model (trained in the Train tab).
    """
    model = (session or {}).get("draw_model") or shipped_model()
    try:
        prediction = predict(canvas, model)
    except EmptyCanvasError:
        return EMPTY_MESSAGE, probability_frame(None), seen_html(None), numbers_table(None)
    except ValueError as error:
        raise gr.Error(str(error)) from error
    return (
        headline(prediction),
        probability_frame(prediction.probabilities.tolist()),
        seen_html(prediction.image),
        numbers_table(prediction),
    )


def empty_outputs():
    """What the tab shows when nothing is drawn."""
    return classify_drawing(None)


def model_code() -> str:
    """The lesson's network in both forms, straight from mnist_demo/model.py."""
    parameters = count_parameters(MNISTClassifier())
    return (
        inspect.getsource(MNISTClassifier)
        + "\n\n"
        + inspect.getsource(model_module.make_sequential)
        + f"\n\n# Learnable parameters: 784*128 + 128 + 128*10 + 10 = {parameters:,}\n"
    )


# The pad shows "select the draw tool to start" and ignores strokes until its Brush button
# is clicked: on page load, and again after every clear. This clicks it for the student
# whenever that overlay shows, watching for up to 15 s (the page may still be loading).
SELECT_BRUSH_JS = f"""
() => {{
  const started = Date.now();
  let clicked = false;
  const timer = setInterval(() => {{
    const pad = document.querySelector('#{PAD_ID}');
    const brush = pad && pad.querySelector('button[aria-label="Brush"]');
    const waiting = brush && pad.innerText.includes('select the draw tool');
    if (waiting) {{
      brush.click();  // again next time if this click came too early and was lost
      clicked = true;
    }}
    if ((clicked && !waiting) || Date.now() - started > 15000) clearInterval(timer);
  }}, 100);
}}
"""

# gr.ClearButton empties the pad only the first time (seen in Chromium); the pad's own bin
# icon works every time, so the Clear button presses it.
PRESS_BIN_JS = f"""
() => document.querySelector('#{PAD_ID} button[aria-label="Clear canvas"]').click()
"""


def decode_strokes_only(pad: gr.Sketchpad) -> gr.Sketchpad:
    """Make the pad decode only its strokes.

    On every stroke the browser sends three pictures: the white background, the strokes
    layer and the two flattened together. The network needs only the strokes (their alpha
    channel), so the background and the flattened picture are not decoded: under a class's
    load that decoding was a fifth of the server's work. Gradio marks those two with
    `flatten_on_white`; a layer never is. (Done on the instance: a subclass of a Gradio
    component makes Gradio write a .pyi file next to this module.)
    """
    decode = pad.convert_and_format_image

    def convert_and_format_image(file, flatten_on_white: bool = False):
        return None if flatten_on_white else decode(file, flatten_on_white)

    pad.convert_and_format_image = convert_and_format_image
    return pad


def build_draw_tab(session: gr.State) -> gr.Sketchpad:
    """The tab's components and events; call inside `with gr.Tab(...)`. Returns the pad."""
    gr.Markdown(
        "Draw a digit with your mouse or finger. After every stroke the network's ten "
        "outputs go through softmax and become the probabilities below."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            pad = gr.Sketchpad(
                type="numpy",
                image_mode="RGBA",  # keep the alpha channel: it is the cleanest stroke mask
                canvas_size=(CANVAS_SIZE, CANVAS_SIZE),
                fixed_canvas=True,
                brush=gr.Brush(default_size=BRUSH_SIZE, colors=["#000000"], color_mode="fixed"),
                layers=False,
                transforms=(),
                label="Your digit",
                elem_id=PAD_ID,
            )
            decode_strokes_only(pad)
            gr.Markdown(
                "Too thin or too bold? Change the brush size with the last button of the "
                "pad's toolbar. Start again with Clear."
            )
            clear_btn = gr.Button("Clear", elem_id="clear-btn")
        with gr.Column(scale=1, min_width=300):
            answer = gr.Markdown(EMPTY_MESSAGE, elem_id="draw-answer")
            bars = gr.BarPlot(
                probability_frame(None),
                x="digit",
                y="probability",
                color="kind",
                color_map={"top guess": "#e4572e", "other digits": "#4c78a8"},
                y_lim=[0, 1],
                sort="x",
                label="softmax(logits): the probability of each digit",
                height=260,
                elem_id="draw-bars",
            )
        with gr.Column(scale=1, min_width=200):
            seen = gr.HTML(
                seen_html(None),
                label="What the network sees (28x28)",
                show_label=True,
                container=True,
                elem_id="draw-seen",
            )
    numbers = gr.Dataframe(
        numbers_table(None),
        label="logits vs softmax vs log_softmax (the lesson's three views of one output)",
        interactive=False,
        elem_id="draw-numbers",
    )
    with gr.Accordion("The network (mnist_demo/model.py)", open=False):
        gr.Code(model_code(), language="python")

    outputs = [answer, bars, seen, numbers]
    pad.change(
        classify_drawing,
        inputs=[pad, session],
        outputs=outputs,
        api_name="predict",
        show_progress="hidden",
        trigger_mode="always_last",
        concurrency_limit=8,
        concurrency_id="predict",
    )
    # Clearing must empty the answer too (the pad does not always report the change), then
    # re-select the Brush for the next digit.
    clear_btn.click(None, js=PRESS_BIN_JS)
    pad.clear(empty_outputs, outputs=outputs, api_visibility="private", show_progress="hidden")
    pad.clear(None, js=SELECT_BRUSH_JS)  # a browser-only step: no server round trip
    return pad
