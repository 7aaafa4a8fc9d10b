"""The Cross-entropy tab: move the predictions and watch the loss (lesson.md, Cross-entropy).

Two modes, as in the lesson:
- From probabilities: one slider per class (cat, dog, horse, or the ten digits), divided by
  their sum; a true class; the loss -log(y_hat[true]) large, on the -log(p) curve, and
  computed the lesson's three ways side by side.
- From logits: ten raw scores; their softmax (bars), log_softmax and the loss.
A switch shows the classic bug of applying softmax before `nn.CrossEntropyLoss`.

Formatters (numbers -> Markdown) come first, then handlers that check their input, compute
with `losses.py` and return a named view (tests call them without a server), then
`build_cross_entropy_tab`: call it inside `with gr.Tab("Cross-entropy"):` in a `gr.Blocks`.
Only the main event is public, as `api_name="cross_entropy"`.
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
LOGIT_MIN, LOGIT_MAX = -10.0, 10.0
LOGIT_STEP = 0.0001  # fine enough to hold the lesson's four-decimal logits exactly

FIGURE_FORMAT = "webp"  # far smaller than png, and a classroom shares one wifi
# While a slider is dragged, skip to its latest value; let nothing flicker over the outputs.
QUIET = {"trigger_mode": "always_last", "show_progress": "hidden"}
# Drawing the figure is the slow part: two at a time suit a 2-vCPU Space.
FIGURE_EVENTS = QUIET | {"concurrency_limit": 2, "concurrency_id": "cross_entropy_figure"}
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]
BUG_LABEL = "apply softmax before nn.CrossEntropyLoss (a common bug)"
TRUE_LABEL = "True class (the label y is one-hot: 1 here, 0 elsewhere)"
BAR_STYLE = {  # the softmax bars: the true class stands out, the scale stays 0..1
    "color_map": {"true class": "#f97316", "other": "#3b82f6"},
    "y_lim": [0, 1],
    "title": "softmax(logits): probabilities that sum to 1",
    "show_label": False,
}

INTRO_MARKDOWN = r"""
## Cross-entropy: how wrong is a prediction?
Cross-entropy compares the label $p$ (the truth) with the prediction $q$ (the network's
probabilities), using the natural log:

$$H(p, q) = -\sum_i p(i)\,\log q(i)$$

The label $y$ is one-hot (a 1 for the true class, 0 elsewhere), so every term but one is
zero and the loss is simply $-\log \hat{y}_{\text{true}}$: perfect ($\hat{y}_{\text{true}} = 1$)
costs $\log 1 = 0$, and the cost grows without bound as $\hat{y}_{\text{true}} \to 0$.
"""
THREE_WAYS_TABLE = """\
| way | code | loss |
| :-- | :-- | --: |
| 1. by hand from probabilities (the lesson's function) | `-torch.sum(y * torch.log(y_hat + 1e-15))` | {by_hand} |
| 2. negative log likelihood of log-probabilities | `F.nll_loss(torch.log(y_hat), target)` | {nll_loss} |
| 3. nn.CrossEntropyLoss on logits whose softmax is ŷ | `nn.CrossEntropyLoss()(torch.log(y_hat), target)` | {cross_entropy_loss} |"""
BUG_TABLE = """\
|  | code | loss |
| :-- | :-- | --: |
| right | `nn.CrossEntropyLoss()(logits, target)` | **{right}** |
| with the bug | `nn.CrossEntropyLoss()(F.softmax(logits, dim=1), target)` | **{wrong}** |"""
BUG_EXPLANATION = (
    "**Why it is wrong:** `nn.CrossEntropyLoss` applies log_softmax *itself*, so it expects "
    "raw logits. Given probabilities, it takes the softmax of a softmax. Probabilities all "
    "lie between 0 and 1, so their softmax is nearly uniform: with {n} classes the buggy loss "
    "is stuck between {low:.2f} and {high:.2f} whatever the prediction. It never reaches 0 "
    "for a perfect prediction, and training gets a weak, misleading signal. Use softmax only "
    "to *show* probabilities; give the loss the logits."
)
BUG_HINT = f"Tick *{BUG_LABEL}* above to see what that bug does to this loss."
LOGITS_OF_PROBABILITIES = "Here `logits = torch.log(y_hat)`: logits whose softmax is ŷ."
NLL_CODE = "`F.nll_loss(F.log_softmax(logits, dim=1), labels)`"


# --- Formatters: numbers -> Markdown ------------------------------------------------------
def format_loss(value: float) -> str:
    """A loss to 4 decimals; infinity as the symbol; never "-0.0000"."""
    if math.isinf(value):
        return "∞"
    return f"{round(value, 4) + 0.0:.4f}"  # + 0.0 turns -0.0 into 0.0


def markdown_table(header: list[str], rows: list[list[str | float]]) -> str:
    """A Markdown table: row names left-aligned, numbers right-aligned (floats: 4 decimals)."""
    rows = [[c if isinstance(c, str) else f"{c:.4f}" for c in row] for row in [header, *rows]]
    rows.insert(1, [":--"] + ["--:"] * (len(header) - 1))
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def probability_loss_text(name: str, p_true: float, loss: float, note: str) -> str:
    """The loss, large, under its formula; then why it is finite at p = 0, or the lesson's note."""
    lines = [f"Cross-entropy = -log(ŷ[{name}]) = -log({p_true:.4f}) =", f"# {format_loss(loss)}"]
    if p_true == 0:
        lines.append(
            f"ŷ[{name}] = 0: the true loss -log(0) is **infinite**. The lesson's function adds "
            f"ε = {losses.EPSILON:g} inside the log, which caps it at -log(1e-15) = "
            f"{format_loss(loss)}."
        )
    elif note:
        lines.append(f"*Lesson:* {note}")
    return "\n\n".join(lines)


def vector_table(names: list[str], values: list[float], y_hat: Tensor | None, y: Tensor) -> str:
    """Sliders, normalised y_hat (None if all sliders are 0) and the one-hot y, by class."""
    total = sum(values)
    rows = [["sliders", *[f"{v:.2f}" for v in values], f"{total:.2f}"]]
    how = "Each slider is normally **divided by their sum**; here the sum is 0."
    if y_hat is not None:
        how = (
            "The sliders need not add up to 1: each is **divided by their sum** "
            f"({total:.2f}), so the predicted probabilities ŷ do."
        )
        rows.append(["ŷ = slider ÷ sum", *y_hat.tolist(), "1.0000"])
    y_cells = [f"**{v}**" if v else "0" for v in y.int().tolist()]
    rows.append([f"y (one-hot, true = {names[int(y.argmax())]})", *y_cells, "1"])
    return how + "\n\n" + markdown_table(["", *names, "sum"], rows)


def three_ways_table(ways: losses.ThreeWays) -> str:
    """The lesson's three ways to the loss side by side, and whether they agree."""
    table = THREE_WAYS_TABLE.format(**{way: format_loss(v) for way, v in ways._asdict().items()})
    verdict = "All three give the same number (to the 4 decimals shown)."
    if math.isinf(ways.nll_loss):
        verdict = (
            "Ways 2 and 3 give ∞: -log(0) really is infinite. Way 1 adds ε = 1e-15 inside "
            f"the log, so it gives -log(1e-15) = {format_loss(ways.by_hand)} instead: a large "
            "but finite number, so a computation never breaks on inf or NaN."
        )
    return table + "\n\n" + verdict


def logits_table(logits: Tensor, probabilities: Tensor, log_probabilities: Tensor) -> str:
    """Logits, softmax and log_softmax, a column per digit, and each row's sum."""
    rows = [
        ["logit", *logits.tolist(), float(logits.sum())],
        ["softmax", *probabilities.tolist(), f"**{float(probabilities.sum()):.2f}**"],
        ["log_softmax", *log_probabilities.tolist(), f"**{float(log_probabilities.sum()):.4f}**"],
    ]
    return markdown_table(["digit", *CLASS_NAMES, "sum"], rows)


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
    table: str  # Markdown: logits, softmax, log_softmax and their sums
    loss: str  # Markdown: the formula and the loss, large
    bug: str  # Markdown: right vs buggy loss, or a hint to tick the bug box


def _check_true_class(true_class: int | str | None, num_classes: int) -> int:
    """The true class as an index 0..C-1 (API callers may send "7" or 7.0)."""
    try:
        index = int(float(true_class))
    except (TypeError, ValueError, OverflowError):  # None, "cat", inf, nan
        index = -1
    if not 0 <= index < num_classes or index != float(true_class):
        raise gr.Error(f"Choose a true class between 0 and {num_classes - 1}.")
    return index


def _lesson_note(class_set: str, y_hat: Tensor, true_class: int) -> str:
    """The lesson's comment when the sliders show one of its worked examples."""
    for example in LESSON_EXAMPLES if class_set == ANIMALS else []:
        shown = torch.allclose(y_hat, torch.tensor(example.y_hat), atol=1e-6)
        if shown and example.true_class == true_class:
            return example.note
    return ""


def _softmax_bug(apply_bug: bool, logits: Tensor, true_class: int, where: str = "") -> str:
    """The right and the buggy loss for these logits (C,) and why they differ; or a hint."""
    if not apply_bug:
        return BUG_HINT
    wrong = format_loss(float(losses.double_softmax_loss(logits, true_class)))
    right = format_loss(float(losses.correct_loss(logits, true_class)))
    low, high = losses.double_softmax_range(len(logits))
    explanation = BUG_EXPLANATION.format(n=len(logits), low=low, high=high)
    parts = [where, BUG_TABLE.format(right=right, wrong=wrong), explanation]
    return "\n\n".join(part for part in parts if part)


def cross_entropy_view(
    class_set: str, true_class: int, apply_softmax_bug: bool, *slider_values: float
) -> ProbabilityView:
    """Probabilities mode: sliders -> (loss, vectors, curve figure, three ways, bug).

    Only the first 3 (animals) or 10 (digits) slider values are used; the hidden ones are ignored.
    All sliders at 0 gives a clear message in place of a loss (0 / 0 cannot be normalised), never
    an error.
    """
    if class_set not in CLASS_NAMES_OF:
        raise gr.Error(f"Unknown set of classes {class_set!r}: choose {ANIMALS} or {DIGITS}.")
    names = CLASS_NAMES_OF[class_set]
    true_class = _check_true_class(true_class, len(names))
    if len(slider_values) < len(names):
        raise gr.Error(f"Give {len(names)} slider values, one per class.")
    values = [float(v or 0.0) for v in slider_values[: len(names)]]
    y = losses.one_hot(true_class, len(names))  # (C,)
    try:
        y_hat = losses.normalise_probabilities(values)  # (C,), sums to 1
    except losses.AllZeroProbabilitiesError as err:
        return ProbabilityView(
            loss=f"### No loss yet\n**{err}**",
            vectors=vector_table(names, values, None, y),
            curve=cross_entropy_curve(None),
            three_ways="The three ways need probabilities: move a slider above 0.",
            bug="",
        )
    except ValueError as err:  # negative or NaN values sent through the API
        raise gr.Error(str(err)) from err
    loss = float(losses.cross_entropy(y, y_hat))
    p_true = float(y_hat[true_class])
    logits = losses.logits_from_probabilities(y_hat)  # (C,), their softmax is y_hat
    note = _lesson_note(class_set, y_hat, true_class)
    return ProbabilityView(
        loss=probability_loss_text(names[true_class], p_true, loss, note),
        vectors=vector_table(names, values, y_hat, y),
        curve=cross_entropy_curve(p_true, loss),
        three_ways=three_ways_table(losses.three_ways(y_hat, true_class)),
        bug=_softmax_bug(apply_softmax_bug, logits, true_class, LOGITS_OF_PROBABILITIES),
    )


def logits_view(true_class: int, apply_softmax_bug: bool, *logit_values: float) -> LogitsView:
    """Logits mode: the true class, bug box and ten logits -> the view."""
    true_class = _check_true_class(true_class, NUM_CLASSES)
    if len(logit_values) != NUM_CLASSES:
        raise gr.Error(f"Give {NUM_CLASSES} logits, one per digit.")
    logits = torch.tensor([float(v or 0.0) for v in logit_values])  # (10,)
    if not torch.isfinite(logits).all():
        raise gr.Error("Every logit must be a finite number.")
    probabilities = losses.softmax(logits)  # (10,), sums to 1
    log_probabilities = losses.log_softmax(logits)  # (10,), exp() gives the probabilities
    loss = float(losses.cross_entropy_loss(logits.unsqueeze(0), torch.tensor([true_class])))
    formula = f"Cross-entropy = -log_softmax(logits)[{CLASS_NAMES[true_class]}] = {NLL_CODE} ="
    bars = pd.DataFrame({"digit": CLASS_NAMES, "probability": probabilities.tolist()})
    bars["class"] = ["true class" if i == true_class else "other" for i in range(NUM_CLASSES)]
    return LogitsView(
        bars=bars,
        table=logits_table(logits, probabilities, log_probabilities),
        loss=f"{formula}\n\n# {format_loss(loss)}",
        bug=_softmax_bug(apply_softmax_bug, logits, true_class),
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
            # Any value allowed: the choices change with the classes, and API callers may
            # pick digit 7 without switching first. The handler checks the range.
            choices = [(n, i) for i, n in enumerate(ANIMAL_CLASSES)]
            true_class = gr.Dropdown(choices, value=0, label=TRUE_LABEL, allow_custom_value=True)
            gr.Markdown("**The lesson's examples** (true class cat, one click each)")
            with gr.Row():
                example_btns = [gr.Button(example.label, size="sm") for example in LESSON_EXAMPLES]
        with gr.Column(scale=3):
            loss_md = gr.Markdown(first.loss)
            curve_plot = gr.Plot(first.curve, format=FIGURE_FORMAT, show_label=False)
    vectors_md = gr.Markdown(first.vectors)
    gr.Markdown("### Three ways, same number")
    three_ways_md = gr.Markdown(first.three_ways)
    gr.Markdown("### The nn.CrossEntropyLoss quirk")
    bug_md = gr.Markdown(first.bug)
    view = [loss_md, vectors_md, curve_plot, three_ways_md, bug_md]  # also the API's outputs
    assert ProbabilityView._fields == ("loss", "vectors", "curve", "three_ways", "bug")
    triggers = [s.input for s in sliders] + [true_class.input, bug_box.input]
    inputs = [class_set, true_class, bug_box, *sliders]
    gr.on(triggers, cross_entropy_view, inputs, view, api_name="cross_entropy", **FIGURE_EVENTS)
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
                lesson_btn = gr.Button("The lesson's ten logits", size="sm")
                zeros_btn = gr.Button("All logits 0 (no idea)", size="sm")
        with gr.Column(scale=3):
            digits = [(n, i) for i, n in enumerate(CLASS_NAMES)]
            true_class = gr.Radio(digits, value=0, label="True class")
            loss_md = gr.Markdown(first.loss)
            bars = gr.BarPlot(first.bars, x="digit", y="probability", color="class", **BAR_STYLE)
    gr.Markdown(
        "softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ); log_softmax(x)ᵢ = xᵢ - log Σⱼ exp(xⱼ), "
        "the numerically stable log of softmax."
    )
    table_md = gr.Markdown(first.table)
    bug_md = gr.Markdown(first.bug)
    view = [bars, table_md, loss_md, bug_md]
    assert LogitsView._fields == ("bars", "table", "loss", "bug")  # the order of view
    triggers = [s.input for s in sliders] + [true_class.input, bug_box.input]
    private = {"api_visibility": "private", **QUIET}
    gr.on(triggers, logits_view, [true_class, bug_box, *sliders], view, **private)
    for btn, values in [(lesson_btn, LESSON_LOGITS), (zeros_btn, [0.0] * NUM_CLASSES)]:
        preset = functools.partial(_answer, {"sliders": sliders, "view": view}, set_logits, values)
        btn.click(preset, [true_class, bug_box], [*sliders, *view], **private)
