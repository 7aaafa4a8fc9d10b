"""The Cross-entropy tab: move the predictions and watch the loss (lesson.md, Cross-entropy).

Two modes, as in the lesson:
- From probabilities: one slider per class (cat, dog, horse, or the ten digits), divided by
  their sum; a true class; the loss -log(y_hat[true]) large, on the -log(p) curve, and
  computed the lesson's three ways side by side.
- From logits: ten raw scores (up to +-100, like the Draw tab's); their softmax (bars),
  log_softmax, the loss, and what the formula as written gives in float32 (inf, nan).
A switch shows the classic bug of applying softmax before `nn.CrossEntropyLoss`.

Handlers check their input (a value beyond a slider's range is clamped, with a note),
compute with `losses.py`, format with `cross_entropy_tables.py` and return a named view
(tests call them without a server); then `build_cross_entropy_tab`: call it inside
`with gr.Tab("Cross-entropy"):` in a `gr.Blocks`. Only the main event is public, as
`api_name="cross_entropy"`.
"""

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import gradio as gr
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor

from mnist_demo import losses
from mnist_demo.constants import CLASS_NAMES, NUM_CLASSES
from mnist_demo.losses import ANIMAL_CLASSES, LESSON_EXAMPLES, LESSON_LOGITS
from mnist_demo.plots import cross_entropy_curve
from mnist_demo.ui import palette
from mnist_demo.ui.cross_entropy_tables import (
    BUG_LABEL,
    EQUAL_LOGITS_NOTE,
    FORMULAS_MARKDOWN,
    INTRO_MARKDOWN,
    LOGITS_OF_PROBABILITIES,
    NLL_CODE,
    ROUNDED_NOTE,
    logits_table,
    probability_loss_text,
    softmax_bug_markdown,
    stability_markdown,
    three_ways_table,
    vector_table,
)
from mnist_demo.ui.tables import loss_text

# --- Settings -----------------------------------------------------------------------------
ANIMALS = "animals"
DIGITS = "digits"
CLASS_SET_CHOICES = [("3 classes: cat, dog, horse", ANIMALS), ("10 digits: 0-9", DIGITS)]
CLASS_NAMES_OF = {ANIMALS: list(ANIMAL_CLASSES), DIGITS: list(CLASS_NAMES)}

# Slider starting values: the lesson's first example for the animals; for the digits, the
# softmax of the lesson's ten logits (rounded to the slider step).
DEFAULT_PROBABILITIES = {
    ANIMALS: list(LESSON_EXAMPLES[0].y_hat),
    DIGITS: [round(float(p), 2) for p in losses.softmax(LESSON_LOGITS)],
}
PROBABILITY_STEP = 0.01
# The Draw tab shows logits up to about +-30; beyond 88.72, exp() overflows float32.
LOGIT_MIN, LOGIT_MAX = -100.0, 100.0
LOGIT_STEP = 0.0001  # fine enough to hold the lesson's four-decimal logits exactly
BIG_LOGITS = [100.0 if d == 7 else -100.0 if d == 3 else 0.0 for d in range(NUM_CLASSES)]
LOGIT_PRESETS = [
    ("The lesson's ten logits", LESSON_LOGITS),
    ("All logits 0 (no idea)", [0.0] * NUM_CLASSES),
    ("Big logits: 100 for 7, -100 for 3", BIG_LOGITS),
]
SHIFT = 5.0  # "Add 5 to every logit": softmax does not change

FIGURE_FORMAT = "webp"  # far smaller than png, and a classroom shares one wifi
# While a slider is dragged, skip to its latest value; let nothing flicker over the outputs.
QUIET = {"trigger_mode": "always_last", "show_progress": "hidden"}
# Drawing the figure is the slow part: two at a time suit a 2-vCPU Space.
FIGURE_EVENTS = QUIET | {"concurrency_limit": 2, "concurrency_id": "cross_entropy_figure"}
# The handlers take the raw values: a typed value beyond a slider's range is clamped there
# with a note (Gradio's own check would answer a red error and leave the old loss).
RAW = {"preprocess": False}
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]
TRUE_LABEL = "True class (the label y is one-hot: 1 here, 0 elsewhere)"
TRUE_KIND, OTHER_KIND = "true class", "other digits"
BAR_STYLE = {  # the softmax bars: the true class stands out, the scale stays 0..1
    "color_map": {TRUE_KIND: palette.TRUE_CLASS, OTHER_KIND: palette.OTHER},
    "colors_in_legend": [],  # the caption says it in words
    "y_lim": [0, 1],
    "title": "softmax(logits): probabilities that sum to 1",
    "caption": "Dark green: the true class. Light blue: the other digits.",
    "show_label": False,
}


# --- Handlers: check the input, compute with losses.py, format ----------------------------
class ProbabilityView(NamedTuple):
    """What the probabilities mode shows, in the order the cross_entropy API returns it."""

    loss: str  # Markdown: the formula and the loss, large
    vectors: str  # Markdown: the sliders, y_hat and the one-hot y
    curve: Figure  # -log(p) with the current prediction marked
    three_ways: str  # Markdown: the lesson's three ways to the loss
    bug: str  # Markdown: right vs buggy loss, or a hint to tick the bug box


class LogitsView(NamedTuple):
    """What the logits mode shows."""

    bars: pd.DataFrame  # softmax(logits) per digit, the true class in its own colour
    table: str  # Markdown: logits, softmax, log_softmax and their sums, a row per digit
    loss: str  # Markdown: the formula and the loss, large
    stability: str  # Markdown: the loss by the formula as written in float32 (inf, nan)
    bug: str  # Markdown: right vs buggy loss, or a hint to tick the bug box


def _check_true_class(true_class: int | str | None, names: Sequence[str]) -> int:
    """The true class as an index 0..C-1 (API callers may send "7" or 7.0)."""
    try:
        index = int(float(true_class))
    except (TypeError, ValueError, OverflowError):  # None, "cat", inf, nan
        index = -1
    if not 0 <= index < len(names) or index != float(true_class):
        choices = ", ".join(f"{i} = {name}" for i, name in enumerate(names) if str(i) != name)
        raise gr.Error(
            f"Choose the true class by its number, 0 to {len(names) - 1}"
            + (f" ({choices})." if choices else ".")
        )
    return index


def _number(value, name: str) -> float:
    """A control's value as a float; an emptied box (None) counts as 0."""
    if value is None or value == "":
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isnan(number):
        raise gr.Error(f"{name} must be a number, not {str(value)[:20]!r}.")
    return number


def clamp(values: Sequence, names: Sequence[str], low: float, high: float) -> tuple[list, list]:
    """(the values as numbers within low..high, a note for each one that was moved there)."""
    numbers, notes = [], []
    for name, value in zip(names, values, strict=True):
        number = _number(value, name)
        inside = min(max(number, low), high)
        if inside != number:
            notes.append(
                f"*Note:* {name} was {number:g}, outside its range {low:g} to {high:g}, "
                f"so {inside:g} is used."
            )
        numbers.append(inside)
    return numbers, notes


def clamped_sliders(low: float, high: float) -> Callable[..., list]:
    """The handler that moves sliders holding a typed value beyond low..high to the edge
    (the others are left alone, so a slider being dragged never jumps back)."""

    def updates(*values) -> list:
        moved = []
        for value in values:
            try:
                number = _number(value, "")
            except gr.Error:
                number = low  # junk from the API: the view has said so
            inside = min(max(number, low), high)
            moved.append(gr.update(value=inside) if inside != number else gr.skip())
        return moved

    return updates


def _lesson_notes(class_set: str, values: list[float], y_hat: Tensor, true_class: int) -> list:
    """The lesson's comment when the sliders show one of its worked examples; for the digits'
    starting values, why their loss is not the From-logits one."""
    if class_set == DIGITS and values == DEFAULT_PROBABILITIES[DIGITS]:
        exact = float(losses.correct_loss(LESSON_LOGITS, true_class))
        return [ROUNDED_NOTE.format(exact=exact)]
    for example in LESSON_EXAMPLES if class_set == ANIMALS else []:
        shown = torch.allclose(y_hat, torch.tensor(example.y_hat), atol=1e-6)
        if shown and example.true_class == true_class and example.y_hat[true_class] > 0:
            return [f"*Lesson:* {example.note}"]
    return []


def cross_entropy_view(
    class_set: str, true_class: int, apply_softmax_bug: bool, *slider_values: float
) -> ProbabilityView:
    """Probabilities mode: sliders -> (loss, vectors, curve figure, three ways, bug).

    Only the first 3 (animals) or 10 (digits) slider values are used; the hidden ones are
    ignored. A value beyond 0..1 is clamped, with a note. All sliders at 0 gives a clear
    message in place of a loss (0 / 0 cannot be normalised), never an error.
    """
    if class_set not in CLASS_NAMES_OF:
        raise gr.Error(f"Unknown set of classes {class_set!r}: choose {ANIMALS} or {DIGITS}.")
    names = CLASS_NAMES_OF[class_set]
    true_class = _check_true_class(true_class, names)
    if len(slider_values) < len(names):
        raise gr.Error(f"Give {len(names)} slider values, one per class.")
    labels = [f"P({name})" for name in names]
    values, notes = clamp(slider_values[: len(names)], labels, 0.0, 1.0)
    y = losses.one_hot(true_class, len(names))  # (C,)
    try:
        y_hat = losses.normalise_probabilities(values)  # (C,), sums to 1
    except losses.AllZeroProbabilitiesError as err:
        return ProbabilityView(
            loss="\n\n".join([f"### No loss yet\n**{err}**", *notes]),
            vectors=vector_table(names, values, None, y),
            curve=cross_entropy_curve(None),
            three_ways="The three ways need probabilities: move a slider above 0.",
            bug="",
        )
    loss = float(losses.cross_entropy(y, y_hat))
    p_true = float(y_hat[true_class])
    logits = losses.logits_from_probabilities(y_hat)  # (C,), their softmax is y_hat
    notes = _lesson_notes(class_set, values, y_hat, true_class) + notes
    ratio = (values[true_class], sum(values))
    return ProbabilityView(
        loss=probability_loss_text(names[true_class], ratio, p_true, loss, notes),
        vectors=vector_table(names, values, y_hat, y),
        curve=cross_entropy_curve(p_true, loss),
        three_ways=three_ways_table(losses.three_ways(y_hat, true_class)),
        bug=softmax_bug_markdown(apply_softmax_bug, logits, true_class, LOGITS_OF_PROBABILITIES),
    )


def logits_view(true_class: int, apply_softmax_bug: bool, *logit_values: float) -> LogitsView:
    """Logits mode: the true class, bug box and ten logits -> the view.

    Logits beyond +-100 are clamped, with a note. The loss is computed the stable way
    (log_softmax); the stability panel shows what the formula as written gives in float32.
    """
    true_class = _check_true_class(true_class, CLASS_NAMES)
    if len(logit_values) != NUM_CLASSES:
        raise gr.Error(f"Give {NUM_CLASSES} logits, one per digit.")
    labels = [f"logit for {digit}" for digit in CLASS_NAMES]
    values, notes = clamp(logit_values, labels, LOGIT_MIN, LOGIT_MAX)
    logits = torch.tensor(values)  # (10,) float32, as a network gives them
    probabilities = losses.softmax(logits)  # (10,), sums to 1
    # The loss from log_softmax in float64: the exact value, also when it is 1e-86.
    loss = -float(losses.log_softmax_exact(logits)[true_class])
    formula = f"Cross-entropy = -log_softmax(logits)[{CLASS_NAMES[true_class]}] = {NLL_CODE} ="
    bars = pd.DataFrame({"digit": CLASS_NAMES, "probability": probabilities.tolist()})
    bars["class"] = [TRUE_KIND if i == true_class else OTHER_KIND for i in range(NUM_CLASSES)]
    if len(set(values)) == 1:
        notes.append(EQUAL_LOGITS_NOTE)
    return LogitsView(
        bars=bars,
        table=logits_table(logits, true_class),
        loss="\n\n".join([formula, f"# {loss_text(loss)}", *notes]),
        stability=stability_markdown(logits, true_class, loss),
        bug=softmax_bug_markdown(apply_softmax_bug, logits, true_class),
    )


class Preset(NamedTuple):
    """New slider settings and the view they give; None leaves a component as it is."""

    sliders: list  # ten slider values, or ten gr.update()s (label, visibility, value)
    view: ProbabilityView | LogitsView
    true_class: dict | None = None  # gr.update() of the true-class dropdown
    class_set: str | None = None  # a lesson example switches back to the animals


def _probability_preset(class_set: str, values: Sequence, true_class: int, bug: bool) -> Preset:
    """Sliders relabelled for the class set and set to `values` (the rest hidden), and the view."""
    hidden = [0.0] * (NUM_CLASSES - len(values))
    view = cross_entropy_view(class_set, true_class, bug, *values, *hidden)  # checks class_set
    names = CLASS_NAMES_OF[class_set]
    sliders = [gr.update(visible=False, value=0.0) for _ in range(NUM_CLASSES)]
    for i, value in enumerate(values):
        sliders[i] = gr.update(visible=True, label=f"P({names[i]})", value=value)
    choices = [(n, i) for i, n in enumerate(names)]
    return Preset(sliders, view, true_class=gr.update(choices=choices, value=true_class))


def switch_classes(class_set: str, apply_softmax_bug: bool) -> Preset:
    """Switch between the 3 animals and the 10 digits: relabel, show/hide and reset sliders."""
    values = DEFAULT_PROBABILITIES.get(class_set, [])  # an unknown set: cross_entropy_view says so
    return _probability_preset(class_set, values, 0, apply_softmax_bug)


def apply_lesson_example(index: int, apply_softmax_bug: bool) -> Preset:
    """One of the lesson's worked examples (3 classes, true = cat), set in one click."""
    example = LESSON_EXAMPLES[index]
    preset = _probability_preset(ANIMALS, example.y_hat, example.true_class, apply_softmax_bug)
    return preset._replace(class_set=ANIMALS)


def set_logits(values: list[float], true_class: int, apply_softmax_bug: bool) -> Preset:
    """A logits preset: the ten slider values, and their view."""
    return Preset(list(values), logits_view(true_class, apply_softmax_bug, *values))


def shift_logits(amount: float, true_class: int, apply_softmax_bug: bool, *values) -> Preset:
    """Every logit moved by `amount`: the same probabilities and loss (past +-100 the
    clamped logits differ, and the view says so)."""
    numbers, _ = clamp(values, [f"logit for {d}" for d in CLASS_NAMES], LOGIT_MIN, LOGIT_MAX)
    shifted = [value + amount for value in numbers]
    sliders = [min(max(value, LOGIT_MIN), LOGIT_MAX) for value in shifted]
    return Preset(sliders, logits_view(true_class, apply_softmax_bug, *shifted))


# --- UI wiring ----------------------------------------------------------------------------
def build_cross_entropy_tab() -> None:
    """Create the tab's components and events inside the current `gr.Tab` context."""
    gr.Markdown(INTRO_MARKDOWN, latex_delimiters=LATEX_DELIMITERS)
    bug_box = gr.Checkbox(label=BUG_LABEL, value=False)
    with gr.Tabs():
        with gr.Tab("From probabilities"):
            _build_probabilities_mode(bug_box)
        with gr.Tab("From logits"):
            _build_logits_mode(bug_box)


def _answer(components: dict, preset_fn: Callable[..., Preset], *args) -> dict:
    """Call a preset function; answer Gradio {component: value}, by the Preset's field names."""
    updates = {}
    for name, value in preset_fn(*args)._asdict().items():
        if isinstance(components.get(name), list):  # the sliders, or a view in field order
            updates |= dict(zip(components[name], value, strict=True))
        elif value is not None:
            updates[components[name]] = value
    return updates


def _build_probabilities_mode(bug_box: gr.Checkbox) -> None:
    shown = len(ANIMAL_CLASSES)  # the other sliders wait, hidden, for the digits
    names = list(ANIMAL_CLASSES) + CLASS_NAMES[shown:]
    values = DEFAULT_PROBABILITIES[ANIMALS] + [0.0] * (NUM_CLASSES - shown)
    first = cross_entropy_view(ANIMALS, 0, False, *values)
    with gr.Row():
        with gr.Column(scale=2):
            class_set = gr.Radio(CLASS_SET_CHOICES, value=ANIMALS, label="Classes")
            sliders = [
                gr.Slider(0, 1, value=v, step=PROBABILITY_STEP, label=f"P({n})", visible=i < shown)
                for i, (n, v) in enumerate(zip(names, values, strict=True))
            ]
            # Only its choices can be picked; they change with the classes (the handler
            # checks the range, as API callers may pick digit 7 without switching first).
            choices = [(n, i) for i, n in enumerate(ANIMAL_CLASSES)]
            true_class = gr.Radio(choices, value=0, label=TRUE_LABEL)
            gr.Markdown("**The lesson's examples** (true class cat, one click each)")
            with gr.Row():
                example_btns = [gr.Button(example.label, size="sm") for example in LESSON_EXAMPLES]
        with gr.Column(scale=3):
            loss_md = gr.Markdown(first.loss, elem_id="ce-loss")
            curve_plot = gr.Plot(first.curve, format=FIGURE_FORMAT, show_label=False)
    vectors_md = gr.Markdown(first.vectors, elem_id="ce-vectors")
    gr.Markdown("### Three ways, same number")
    three_ways_md = gr.Markdown(first.three_ways, elem_id="ce-three-ways")
    gr.Markdown("### The nn.CrossEntropyLoss quirk")
    bug_md = gr.Markdown(first.bug, elem_id="ce-bug")
    view = [loss_md, vectors_md, curve_plot, three_ways_md, bug_md]  # also the API's outputs
    assert ProbabilityView._fields == ("loss", "vectors", "curve", "three_ways", "bug")
    triggers = [s.input for s in sliders] + [true_class.input, bug_box.input]
    inputs = [class_set, true_class, bug_box, *sliders]
    gr.on(
        triggers, cross_entropy_view, inputs, view, api_name="cross_entropy", **RAW, **FIGURE_EVENTS
    ).then(clamped_sliders(0.0, 1.0), sliders, sliders, api_visibility="private", **RAW, **QUIET)
    preset = {"sliders": sliders, "view": view, "true_class": true_class, "class_set": class_set}
    private = {"api_visibility": "private", **FIGURE_EVENTS}
    switch = functools.partial(_answer, preset, switch_classes)
    class_set.input(switch, [class_set, bug_box], [*sliders, true_class, *view], **private)
    for index, btn in enumerate(example_btns):
        example = functools.partial(_answer, preset, apply_lesson_example, index)
        btn.click(example, bug_box, [class_set, *sliders, true_class, *view], **private)


def _build_logits_mode(bug_box: gr.Checkbox) -> None:
    first = logits_view(0, False, *LESSON_LOGITS)
    with gr.Row():
        with gr.Column(scale=2):
            sliders = [
                gr.Slider(LOGIT_MIN, LOGIT_MAX, value=v, step=LOGIT_STEP, label=f"logit for {d}")
                for d, v in zip(CLASS_NAMES, LESSON_LOGITS, strict=True)
            ]
            with gr.Row():
                preset_btns = [gr.Button(label, size="sm") for label, _ in LOGIT_PRESETS]
                shift_btn = gr.Button(f"Add {SHIFT:g} to every logit", size="sm")
        with gr.Column(scale=3):
            digits = [(n, i) for i, n in enumerate(CLASS_NAMES)]
            true_class = gr.Radio(digits, value=0, label="True class")
            loss_md = gr.Markdown(first.loss, elem_id="ce-logits-loss")
            stability_md = gr.Markdown(first.stability, elem_id="ce-stability")
            bars = gr.BarPlot(first.bars, x="digit", y="probability", color="class", **BAR_STYLE)
    gr.Markdown(FORMULAS_MARKDOWN)
    table_md = gr.Markdown(first.table, elem_id="ce-logits-table")
    bug_md = gr.Markdown(first.bug, elem_id="ce-logits-bug")
    view = [bars, table_md, loss_md, stability_md, bug_md]
    assert LogitsView._fields == ("bars", "table", "loss", "stability", "bug")  # view's order
    triggers = [s.input for s in sliders] + [true_class.input, bug_box.input]
    private = {"api_visibility": "private", **QUIET}
    gr.on(triggers, logits_view, [true_class, bug_box, *sliders], view, **RAW, **private).then(
        clamped_sliders(LOGIT_MIN, LOGIT_MAX), sliders, sliders, **RAW, **private
    )
    answer = functools.partial(_answer, {"sliders": sliders, "view": view})
    for btn, (_, values) in zip(preset_btns, LOGIT_PRESETS, strict=True):
        btn.click(
            functools.partial(answer, set_logits, values),
            [true_class, bug_box],
            [*sliders, *view],
            **private,
        )
    shift = functools.partial(answer, shift_logits, SHIFT)
    shift_btn.click(shift, [true_class, bug_box, *sliders], [*sliders, *view], **RAW, **private)
