"""The Draw tab: draw a digit, watch the network's ten probabilities change on every stroke.

The pad (ui/drawing_pad.py) sends its picture after each stroke as one PNG data URL, which
`mnist_demo.preprocess` turns into the 28x28 input.

The plain functions come first (they are what the tests call); the Gradio wiring is in
`build_draw_tab()` at the end.
"""

import functools
import html
import inspect
import math
from collections.abc import Callable
from typing import NamedTuple

import gradio as gr
import numpy as np

from mnist_demo import model as model_module
from mnist_demo.bar_chart import probability_bars
from mnist_demo.constants import CLASS_NAMES
from mnist_demo.losses import log_softmax_exact
from mnist_demo.model import MNISTClassifier, count_parameters
from mnist_demo.predict import Prediction, predict
from mnist_demo.preprocess import EmptyCanvasError
from mnist_demo.stroke_width import EvenStrokes
from mnist_demo.ui.drawing_pad import CANVAS_SIZE, PAD_ID, DrawingPad
from mnist_demo.ui.learn_panel import build_learn_controls, wire_learn
from mnist_demo.ui.lesson_panels import (
    curve_html,
    draw_model,
    inline_png,
    inside_html,
    meant_digit,
    meant_markdown,
    model_line,
    templates_html,
    why_html,
)
from mnist_demo.ui.mnist_sample import SampleView, show_mnist_digit
from mnist_demo.ui.palette import OTHER, TOP_GUESS
from mnist_demo.ui.strokes import StrokeHandler
from mnist_demo.ui.tables import (
    html_table,
    log_probability_text,
    logit_text,
    probability_text,
)

__all__ = ["CANVAS_SIZE", "PAD_ID", "build_draw_tab", "classify_drawing"]

DIGIT_CHOICES = [(name, digit) for digit, name in enumerate(CLASS_NAMES)]
CLOSED = ""  # what a closed panel gets: nothing to send on every stroke
PREVIEW_SCALE = 6  # the 28x28 input is shown 6x larger, with square pixels

EMPTY_MESSAGE = "### ✏️ Draw a digit (0-9) on the canvas\nThe network's answer appears here."


BARS_LABEL = "softmax(logits): the probability of each digit"
BAR_CAPTION = "Dark orange: the top guess, the answer above. Light blue: the other digits."
NUMBERS_LABEL = "logits vs softmax vs log_softmax (the lesson's three views of one output)"
NO_NUMBERS = "Nothing drawn yet: draw a digit to see its ten logits, softmax and log_softmax."
TOP_MARK = "◀ top"
ZWSP = "\u200b"  # a zero-width space: where a word may break
# Fixed widths, so the columns stay put from stroke to stroke, and fit a 390 px phone
# with the numbers in 13 px type (Gradio's HTML is 16 px there).
NUMBER_WIDTHS = ["22%", "23%", "29%", "26%"]
NUMBERS_STYLE = "font-size:13px"
TITLE_STYLE = "margin:0 0 0.4em;font-weight:600"  # as the table's caption


def bars_html(probabilities: list[float] | None) -> str:
    """The softmax as ten bars (an inline SVG, mnist_demo/bar_chart.py), and what the
    colours mean. With no prediction every bar is 0 and none is the top guess."""
    chart = probability_bars(probabilities, TOP_GUESS, OTHER, title=BARS_LABEL)
    return (
        f'<p style="{TITLE_STYLE}">{html.escape(BARS_LABEL)}</p>{chart}'
        f'<p class="bars-caption">{html.escape(BAR_CAPTION)}</p>'
    )


def numbers_html(prediction: Prediction | None) -> str:
    """The lesson's three views of the same output: logits, softmax and log_softmax.

    Text in one format per column (ui/tables.py): a tiny probability shows as 6.6e-14 and a
    sure one as 0.9999976, never as 0 or 1. The column sums are in the headers (the table
    keeps one row per digit). The top guess's row is bold and marked "◀ top". An HTML
    table (what API callers get too): the browser shows it as it comes, on every stroke.
    """
    if prediction is None:
        return (
            f'<p style="{TITLE_STYLE}">{html.escape(NUMBERS_LABEL)}</p>'
            f'<p class="numbers-empty">{NO_NUMBERS}</p>'
        )
    log_p = log_softmax_exact(prediction.logits).tolist()  # (10,) float64, exact near 0
    top = prediction.digit
    rows = []
    for digit, (z, v) in enumerate(zip(prediction.logits.tolist(), log_p, strict=True)):
        cells = [str(digit), logit_text(z), probability_text(v), log_probability_text(v)]
        if digit == top:
            cells = [f"<b>{cell}</b>" for cell in [f"{digit} {TOP_MARK}", *cells[1:]]]
        rows.append(cells)
    headers = [
        "digit",
        "logit",
        f"softmax (sum {math.fsum(math.exp(v) for v in log_p):.4f})",
        f"log_{ZWSP}softmax (sum {math.fsum(log_p):.2f})",  # may break after log_, on a phone
    ]
    table = html_table(headers, rows, widths=NUMBER_WIDTHS, caption=NUMBERS_LABEL)
    return f'<div style="{NUMBERS_STYLE}">{table}</div>'


def seen_html(image28: np.ndarray | None, strokes: EvenStrokes | None = None) -> str:
    """The 28x28 input as an inline PNG (a few hundred bytes), shown enlarged, square pixels,
    with a line when the strokes were thinned or thickened to MNIST's width first.

    Inline rather than a gr.Image: no file written to Gradio's cache and no second request
    from the browser on every stroke of every student.
    """
    if image28 is None:
        return '<p class="seen-empty">Nothing drawn yet.</p>'
    pixels = (np.clip(image28, 0.0, 1.0) * 255).astype(np.uint8)
    alt = "the 28x28 picture the network sees"
    return inline_png(pixels, PREVIEW_SCALE, alt, compress_level=6) + strokes_note(strokes)


def strokes_note(strokes: EvenStrokes | None) -> str:
    """Why the 28x28 strokes look thinner (or thicker) than the drawing's, when they do."""
    if strokes is None or not strokes.changed:
        return ""
    how = "thinned" if strokes.ratio > strokes.target_ratio else "thickened"
    return (
        f'<p class="seen-note">Your strokes are {strokes.ratio:.0%} as wide as the digit is '
        f"long; MNIST's are about {strokes.target_ratio:.0%}: {how} to that before scaling.</p>"
    )


def headline(prediction: Prediction) -> str:
    log_p = float(log_softmax_exact(prediction.logits)[prediction.digit])  # exact: never 0
    return (
        f"## The network says **{prediction.digit}** ({sure_text(log_p)} sure)\n"
        f"Softmax always sums to 1, even for a scribble: a high percentage is not proof."
    )


def sure_text(log_p: float) -> str:
    """A percentage from a log-probability that never says 100% for less: "over 99.9%"."""
    p = math.exp(log_p)
    if log_p < 0 and f"{p:.0%}" == "100%":
        return "over 99.9%" if p > 0.999 else "over 99%"
    return f"{p:.0%}"


class DrawView(NamedTuple):
    """What a stroke shows, one field per output of the tab."""

    answer: str  # the headline (Markdown)
    bars: str  # the softmax bar chart (HTML: an inline SVG)
    seen: str  # the 28x28 input (HTML)
    numbers: str  # logits, softmax, log_softmax (an HTML table)
    meant: str  # this drawing's loss for the digit the student meant (Markdown)
    curve: str  # that loss on the -log(p) curve (HTML)
    why: str  # each pixel's part in the logits (HTML)
    inside: str  # the hidden layer's outputs (HTML)


def classify_drawing(canvas, session=None, meant=None, panels=()) -> DrawView:
    """What a stroke shows. `canvas` is what the pad sends, a PNG data URL ("" when nothing
    is drawn), or any image `mnist_demo.preprocess` accepts (the tests pass arrays).

    An empty canvas gives the 'draw a digit' state, never a made-up prediction.
    `session` may hold this student's own model; `meant` is the digit they meant, if chosen;
    `panels` are the open ones of "why" and "inside" (a closed one is left empty).
    """
    meant = meant_digit(meant)
    model = draw_model(session)
    try:
        prediction = predict(canvas, model)
    except EmptyCanvasError:
        return empty_view(meant)
    except ValueError as error:
        raise gr.Error(str(error)) from error
    return view_of(prediction, model, meant, panels)


def view_of(prediction: Prediction, model, meant: int | None, panels=()) -> DrawView:
    """Every output for one prediction of `model` (the closed panels empty: a whole class
    draws, and few look inside on every stroke)."""
    return DrawView(
        answer=headline(prediction),
        bars=bars_html(log_softmax_exact(prediction.logits).exp().tolist()),  # float64: never 1
        seen=seen_html(prediction.image, prediction.strokes),
        numbers=numbers_html(prediction),
        meant=meant_markdown(prediction, meant),
        curve=curve_html(prediction, meant) if meant is not None else "",
        why=why_html(prediction, model, meant) if "why" in panels else CLOSED,
        inside=inside_html(prediction, model) if "inside" in panels else CLOSED,
    )


def choose_meant(meant, session) -> None:
    """The student chose the digit they meant: it stays while they keep drawing."""
    session.meant = meant_digit(meant)


def stroke_options(canvas, session) -> tuple:
    """(the digit meant, the open panels): what a stroke's answer needs of the session.
    The drawing is also kept as the student's last drawing of the digit they meant."""
    if session is None:
        return None, ()
    if session.meant is not None and canvas:
        session.drawings[session.meant] = canvas
    return session.meant, tuple(session.panels)


def model_templates(session) -> str:
    """The answering model's fc1 weights as pictures, while "inside" is open (~300 KB)."""
    return templates_html(draw_model(session)) if "inside" in session.panels else CLOSED


def show_panel(name: str, shown: bool):
    """The handler that notes a panel opened (answered from now on) or closed."""

    def note(session) -> None:
        session.panels = (set(session.panels) | {name}) if shown else set(session.panels) - {name}

    return note


def empty_view(meant: int | None = None) -> DrawView:
    """What the tab shows when nothing is drawn."""
    return DrawView(
        EMPTY_MESSAGE,
        bars_html(None),
        seen_html(None),
        numbers_html(None),
        meant=meant_markdown(None, meant),
        curve="",
        why=why_html(None, None, meant),
        inside=inside_html(None, None),
    )


def model_code() -> str:
    """The lesson's network in both forms, straight from mnist_demo/model.py."""
    parameters = count_parameters(MNISTClassifier())
    return (
        inspect.getsource(MNISTClassifier)
        + "\n\n"
        + inspect.getsource(model_module.make_sequential)
        + f"\n\n# Learnable parameters: 784*128 + 128 + 128*10 + 10 = {parameters:,}\n"
    )


class DrawTab(NamedTuple):
    """What the rest of the app needs of the tab."""

    handler: StrokeHandler  # the server attaches the stroke process to it
    answer_again: Callable  # answer_again(event): the drawing answered anew after `event`


def build_draw_tab(session: gr.State) -> DrawTab:
    """The tab's components and events; call inside `with gr.Tab(...)`."""
    gr.Markdown(
        "Draw a digit with your mouse or finger. After every stroke the network's ten "
        "outputs go through softmax and become the probabilities below."
    )
    model_md = gr.Markdown(model_line(None), elem_id="draw-model")
    pad, sample_btn, answer, bars, meant, seen = _drawing_row()
    sample = gr.HTML("", elem_id="draw-sample")
    meant_md, curve, learn_controls, why, inside, templates, why_panel, inside_panel = (
        _lesson_panels(empty_view())
    )
    numbers = _numbers_and_code()

    outputs = list(DrawView(answer, bars, seen, numbers, meant_md, curve, why, inside))
    handler = StrokeHandler(classify_drawing, outputs, stroke_options)
    stroke = {
        "fn": handler.answer_stroke,
        "inputs": [pad, session],
        "outputs": outputs,
        "preprocess": False,  # the pad's value is the data URL itself
        "postprocess": False,  # the handler returns what the browser receives
        "show_progress": "hidden",
        "trigger_mode": "always_last",  # strokes drawn while one is answered: only the last
        "concurrency_limit": 8,
        "concurrency_id": "predict",
    }
    # The browser's strokes go to a private event, and API callers to /predict, the same
    # answer with no trigger on the page. A public event with a gr.State input makes
    # Gradio's browser client warn "Too many arguments provided for the endpoint." on
    # every stroke (it sends the State's value too; the API lists no State parameter).
    pad.change(**stroke, api_visibility="private")
    gr.on([], **stroke, api_name="predict")
    meant.input(choose_meant, [meant, session], api_visibility="private").then(
        **stroke, api_visibility="private"
    )

    def answer_again(event) -> None:
        """After `event` changed this student's model: say which, answer the drawing anew."""
        event.then(model_line, [session], [model_md], show_progress="hidden").then(
            model_templates, [session], [templates]
        ).then(**stroke, api_visibility="private")

    for accordion, name in ((why_panel, "why"), (inside_panel, "inside")):
        accordion.expand(show_panel(name, True), [session]).then(**stroke, api_visibility="private")
        accordion.collapse(show_panel(name, False), [session])
    inside_panel.expand(model_templates, [session], [templates])
    wire_learn(learn_controls, pad, meant, session, answer_again)
    sample_btn.click(
        functools.partial(show_mnist_digit, view_of=view_of),
        [session],
        list(SampleView(*outputs, meant_choice=meant, sample=sample)),
        api_name="mnist_digit",
    )
    return DrawTab(handler, answer_again)


def _drawing_row() -> tuple:
    """The pad, the answer with its bars and the digit-meant choice, the 28x28 input."""
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            pad = DrawingPad()
            gr.Markdown("Too thin or too bold? Move the brush slider. Start again with Clear.")
            sample_btn = gr.Button("Show me a real MNIST digit instead", size="sm")
        with gr.Column(scale=1, min_width=300):
            answer = gr.Markdown(EMPTY_MESSAGE, elem_id="draw-answer")
            bars = _bar_chart()
            meant = gr.Radio(
                DIGIT_CHOICES,
                value=None,
                label="Which digit did you mean?",
                elem_id="draw-meant-choice",
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
    return pad, sample_btn, answer, bars, meant, seen


def _lesson_panels(view: DrawView) -> tuple:
    """The lesson walked on the drawing: its loss, learning from it, why, and inside."""
    with gr.Row():  # side by side where there is room; on a phone one above the other
        with gr.Column(min_width=300):
            meant_md = gr.Markdown(view.meant, elem_id="draw-meant")
        with gr.Column(min_width=300):
            curve = gr.HTML(view.curve, elem_id="draw-curve")
    with gr.Accordion("Learn from this drawing", open=True):
        learn_controls = build_learn_controls()
    with gr.Accordion("Why this answer? Each pixel's part in the logit", open=False) as why_panel:
        why = gr.HTML(view.why, elem_id="draw-why")
    with gr.Accordion("Inside the network: the hidden units", open=False) as inside_panel:
        inside = gr.HTML(view.inside, elem_id="draw-inside")
        templates = gr.HTML(CLOSED, elem_id="draw-templates")  # ~300 KB: filled when opened
    return meant_md, curve, learn_controls, why, inside, templates, why_panel, inside_panel


def _numbers_and_code() -> gr.HTML:
    numbers = gr.HTML(
        numbers_html(None),
        label=NUMBERS_LABEL,  # its name in the API; the table's caption shows it
        container=True,
        elem_id="draw-numbers",
    )
    with gr.Accordion("The network (mnist_demo/model.py)", open=False):
        gr.Code(model_code(), language="python")
    return numbers


def _bar_chart() -> gr.HTML:
    return gr.HTML(
        bars_html(None),
        label=BARS_LABEL,  # its name in the API; the HTML shows it above the bars
        container=True,
        elem_id="draw-bars",
    )
