"""The Draw tab: draw a digit, watch the network's ten probabilities change on every stroke.

The pad is a plain canvas (HTML and a little JavaScript, below): after each stroke it sends
its picture as one PNG data URL, which `mnist_demo.preprocess` turns into the 28x28 input.

The plain functions come first (they are what the tests call); the Gradio wiring is in
`build_draw_tab()` at the end.
"""

import base64
import inspect
from io import BytesIO

import anyio.to_thread
import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from mnist_demo import model as model_module
from mnist_demo.constants import CLASS_NAMES
from mnist_demo.model import MNISTClassifier, count_parameters
from mnist_demo.predict import Prediction, predict, shipped_model
from mnist_demo.preprocess import MAX_DATA_URL_LENGTH, EmptyCanvasError
from mnist_demo.ui.stroke_process import StrokeProcess, StrokeProcessGone

CANVAS_SIZE = 280  # a small canvas: cheap to send on every stroke, 10x MNIST's 28
BRUSH_SIZE = 12  # brush radius in canvas pixels: strokes about as thick as MNIST's
PREVIEW_SCALE = 6  # the 28x28 input is shown 6x larger, with square pixels
PAD_ID = "draw-pad"

EMPTY_MESSAGE = "### ✏️ Draw a digit (0-9) on the canvas\nThe network's answer appears here."


# The bar chart's columns and how Vega-Lite reads each (a category or a quantity).
BAR_DATATYPES = {"digit": "nominal", "probability": "quantitative", "kind": "nominal"}
BAR_COLUMNS = list(BAR_DATATYPES)
NUMBER_COLUMNS = ["digit", "logit", "softmax", "log_softmax"]


def bar_data(probabilities: list[float] | None) -> dict:
    """Data for the bar chart: one row per digit; the most likely digit stands out.

    With no prediction every bar is 0. Digit 0 is still labelled "top guess" then (at
    height 0, invisible): the browser updates the chart in place and only ever colours the
    kinds it saw first, so both kinds must be there from the start.

    The rows come in the form gr.BarPlot sends to the browser (what its postprocess makes
    of a pandas DataFrame with these columns: the columns, the rows, each column's kind and
    the mark). Built directly, because on every stroke of every student the DataFrame and
    its JSON took ~0.4 ms of the answer's ~2.5 ms of Python; this takes ~0.01 ms. Gradio
    passes a dict on as it is (tests/test_draw_tab.py checks both).
    """
    probabilities = probabilities or [0.0] * len(CLASS_NAMES)
    top = int(np.argmax(probabilities))
    rows = [
        [digit, probability, "top guess" if i == top else "other digits"]
        for i, (digit, probability) in enumerate(zip(CLASS_NAMES, probabilities, strict=True))
    ]
    return {"columns": BAR_COLUMNS, "data": rows, "datatypes": BAR_DATATYPES, "mark": "bar"}


def significant(values: list[float], digits: int = 3) -> list[float]:
    """Each value rounded to `digits` significant digits: 9.3e-11 stays 9.3e-11, not 0."""
    return [float(f"{value:.{digits}g}") for value in values]


def numbers_table(prediction: Prediction | None) -> pd.DataFrame:
    """The lesson's three views of the same output: logits, softmax and log_softmax.

    Tiny probabilities are shown as they are (e.g. 9.3e-11), not rounded to 0. A pandas
    DataFrame, unlike the bars (see `bar_data`): for any other value, gr.Dataframe's
    postprocess looks for the polars package on disk, on every stroke.
    """
    if prediction is None:
        return pd.DataFrame(columns=NUMBER_COLUMNS)
    columns = (
        CLASS_NAMES,
        np.round(prediction.logits.double().numpy(), 3),
        significant(prediction.probabilities.tolist()),
        np.round(prediction.log_probabilities.double().numpy(), 3),
    )
    return pd.DataFrame(dict(zip(NUMBER_COLUMNS, columns, strict=True)))


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
    """What a stroke shows: canvas -> (headline, bars, 28x28 image, numbers table).

    `canvas` is what the pad sends, a PNG data URL ("" when nothing is drawn), or any image
    `mnist_demo.preprocess` accepts (the tests pass arrays).

    An empty canvas gives the 'draw a digit' state, never a made-up prediction.
    `session` may hold this student's own model (trained in the Train tab).
    """
    model = (session or {}).get("draw_model") or shipped_model()
    try:
        prediction = predict(canvas, model)
    except EmptyCanvasError:
        return EMPTY_MESSAGE, bar_data(None), seen_html(None), numbers_table(None)
    except ValueError as error:
        raise gr.Error(str(error)) from error
    return (
        headline(prediction),
        bar_data(prediction.probabilities.tolist()),
        seen_html(prediction.image),
        numbers_table(prediction),
    )


def empty_outputs():
    """What the tab shows when nothing is drawn."""
    return classify_drawing(None)


def as_sent(components: list, values) -> list:
    """`values` in the form the browser receives them: each component's own `postprocess`.

    Gradio does this itself, one output at a time, each in a worker thread of its own; the
    Draw tab calls it inside its stroke handler instead (see `build_draw_tab`). It uses the
    components as built: a per-session change made with gr.update() would be ignored here.
    """
    sent = []
    for component, value in zip(components, values, strict=True):
        data = component.postprocess(value)
        sent.append(data.model_dump() if hasattr(data, "model_dump") else data)
    return sent


def model_code() -> str:
    """The lesson's network in both forms, straight from mnist_demo/model.py."""
    parameters = count_parameters(MNISTClassifier())
    return (
        inspect.getsource(MNISTClassifier)
        + "\n\n"
        + inspect.getsource(model_module.make_sequential)
        + f"\n\n# Learnable parameters: 784*128 + 128 + 128*10 + 10 = {parameters:,}\n"
    )


# The drawing pad: a plain HTML canvas. After every stroke (when the pointer lifts) its
# picture goes to the server as one small PNG data URL inside the event (about 5 KB).
# Gradio's Sketchpad sends three PNG files per stroke, each a separate upload to store
# and read back: under a class's load that was most of the server's work per stroke, and
# its requests slowed down three times more when runs trained (benchmarks/classroom_load.py).
# Pointer events serve mouse, pen and finger alike; `touch-action: none` keeps the page
# from scrolling under a finger.
PAD_HTML = f"""
<div class="pad">
  <p class="pad-title">Your digit</p>
  <canvas width="{CANVAS_SIZE}" height="{CANVAS_SIZE}"
          aria-label="Drawing pad: draw one digit here"></canvas>
  <div class="pad-tools">
    <label>Brush <input class="brush" type="range" min="4" max="24" value="{BRUSH_SIZE}"
           aria-label="brush radius"></label>
    <button class="clear" id="clear-btn" type="button">Clear</button>
  </div>
</div>
"""

PAD_CSS = f"""
canvas {{ width: {CANVAS_SIZE}px; height: {CANVAS_SIZE}px; max-width: 100%; background: white;
          border: 1px solid #9ca3af; border-radius: 6px; touch-action: none; cursor: crosshair; }}
.pad-title {{ margin: 0 0 0.4rem; font-weight: 600; }}
.pad-tools {{ display: flex; gap: 1rem; align-items: center; margin-top: 0.5rem; }}
.clear {{ padding: 0.3rem 1.2rem; border: 1px solid #9ca3af; border-radius: 6px; }}
"""

# Runs in the browser once the pad is on the page (`element` is the pad, `props.value` its
# value: setting it sends the `change` event). Black ink on a transparent canvas: the
# alpha channel is the stroke mask that `mnist_demo.preprocess` reads.
PAD_JS = """
const canvas = element.querySelector('canvas');
const context = canvas.getContext('2d');
const brush = element.querySelector('.brush');
context.fillStyle = context.strokeStyle = '#000';
context.lineCap = context.lineJoin = 'round';
let pen = null;  // the pointer drawing the current stroke, if any
let last = null;

function point(event) {  // page pixels -> canvas pixels (the canvas may be shown scaled)
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}
canvas.addEventListener('pointerdown', (event) => {
  event.preventDefault();
  if (!event.isPrimary) return;  // a second finger or a palm: only the first one draws
  pen = event.pointerId;
  last = point(event);
  canvas.setPointerCapture(pen);
  context.beginPath();
  context.arc(last[0], last[1], Number(brush.value), 0, 2 * Math.PI);
  context.fill();
});
canvas.addEventListener('pointermove', (event) => {
  if (event.pointerId !== pen) return;
  const next = point(event);
  context.lineWidth = 2 * Number(brush.value);
  context.beginPath();
  context.moveTo(last[0], last[1]);
  context.lineTo(next[0], next[1]);
  context.stroke();
  last = next;
  event.preventDefault();
});
function endStroke(event) {
  if (event.pointerId !== pen) return;
  pen = null;
  props.value = canvas.toDataURL('image/png');  // sends `change` with the drawing
}
canvas.addEventListener('pointerup', endStroke);
canvas.addEventListener('pointercancel', endStroke);
canvas.addEventListener('lostpointercapture', endStroke);  // never stuck mid-stroke
element.querySelector('.clear').addEventListener('click', () => {
  pen = null;  // a stroke still under a finger ends here, unsent
  context.clearRect(0, 0, canvas.width, canvas.height);
  props.value = '';  // sends `change` with nothing drawn: the answer empties too
});
"""


_stroke_process: StrokeProcess | None = None  # see answer_strokes_in_a_process
_shipped_model_answer = None  # what the process computes for a stroke: set by build_draw_tab


def answer_strokes_in_a_process() -> None:
    """From now on, strokes answered with the shipped model are answered in a process of
    their own (mnist_demo/ui/stroke_process.py says why). Call it after `build_draw_tab`
    and before the server starts: the process is a fork of this one."""
    global _stroke_process  # noqa: PLW0603
    if _shipped_model_answer is None:
        raise RuntimeError("build the Draw tab (build_draw_tab) before starting its process")
    shipped_model()  # loaded before the fork, so the process has it too
    _stroke_process = StrokeProcess(_shipped_model_answer)


def build_draw_tab(session: gr.State) -> gr.HTML:
    """The tab's components and events; call inside `with gr.Tab(...)`. Returns the pad."""
    gr.Markdown(
        "Draw a digit with your mouse or finger. After every stroke the network's ten "
        "outputs go through softmax and become the probabilities below."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            pad = gr.HTML(
                "",  # the drawing as a PNG data URL; "" while nothing is drawn
                html_template=PAD_HTML,
                css_template=PAD_CSS,
                js_on_load=PAD_JS,
                label="Your digit",  # for the API page; the pad shows its own title
                show_label=False,
                container=True,
                elem_id=PAD_ID,
            )
            gr.Markdown("Too thin or too bold? Move the brush slider. Start again with Clear.")
        with gr.Column(scale=1, min_width=300):
            answer = gr.Markdown(EMPTY_MESSAGE, elem_id="draw-answer")
            bars = gr.BarPlot(
                bar_data(None),
                x="digit",
                y="probability",
                color="kind",
                color_map={"top guess": "#e4572e", "other digits": "#4c78a8"},
                colors_in_legend=[],  # no legend (it showed only its title, "kind")
                y_lim=[0, 1],
                sort="x",
                label="softmax(logits): the probability of each digit",
                elem_id="draw-bars",
            )
        with gr.Column(scale=1, min_width=200):
            gr.Markdown("**What the network sees** (28x28, shown 6x)")
            seen = gr.HTML(
                seen_html(None),
                label="What the network sees (28x28)",
                show_label=False,
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

    def answer_here(canvas, session: dict | None = None) -> list:
        """classify_drawing(), in the form the browser receives, computed in this process."""
        return as_sent(outputs, classify_drawing(canvas, session))

    async def answer_stroke(canvas: str, session: dict):
        """classify_drawing(), with the answer already in the form the browser receives.

        With the shipped model, in the stroke process once `answer_strokes_in_a_process`
        has started it: a coroutine, so that waiting for the process takes no worker
        thread. A student's own model answers here, in the server, in one worker thread.
        """
        small_enough = isinstance(canvas, str) and len(canvas) <= MAX_DATA_URL_LENGTH
        if _stroke_process is not None and small_enough and not (session or {}).get("draw_model"):
            try:
                answer = await _stroke_process.ask(canvas)
            except StrokeProcessGone:  # stopped, or this stroke failed there
                pass  # answered here instead (and a real error is raised here)
            else:
                if isinstance(answer, str):  # the student's error message
                    raise gr.Error(answer)
                return answer
        return await anyio.to_thread.run_sync(answer_here, canvas, session)  # a worker thread

    global _shipped_model_answer  # noqa: PLW0603 (the process needs these outputs)

    def _shipped_model_answer(canvas) -> list | str:
        try:
            return answer_here(canvas)
        except gr.Error as error:
            return str(error.message)

    # At most one hand-over to a worker thread per stroke, not six. Gradio would pass the pad's
    # value, and then each of the four outputs, through a worker thread of its own. While
    # a run trains in another thread, every hand-over may wait for Python's lock (the GIL),
    # so under a class's load the answers came ~2x later than those of a trivial endpoint
    # (benchmarks/classroom_load.py). The pad's value needs no preprocessing: it is the
    # data URL string itself.
    pad.change(
        answer_stroke,
        inputs=[pad, session],
        outputs=outputs,
        api_name="predict",
        preprocess=False,
        postprocess=False,  # answer_stroke returns what the browser receives
        show_progress="hidden",
        trigger_mode="always_last",  # strokes drawn while one is answered: only the last
        concurrency_limit=8,
        concurrency_id="predict",
    )
    return pad
