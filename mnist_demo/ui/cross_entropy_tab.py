"""The Cross-entropy tab: move the predictions and watch the loss (lesson.md, Cross-entropy).

Two modes, as in the lesson:
- From probabilities: one slider per class (cat, dog, horse, or the ten digits), divided by
  their sum; a true class; the loss -log(y_hat[true]) large, on the -log(p) curve, and
  computed the lesson's three ways side by side.
- From logits: ten raw scores; their softmax (bars), log_softmax and the loss.
A switch shows the classic bug of applying softmax before `nn.CrossEntropyLoss`.

The plain handler functions come first: they take slider values and return text, figures
and tables, so tests call them without a server. `build_cross_entropy_tab` wires them to
components at the end; call it inside `with gr.Blocks(): with gr.Tab("Cross-entropy"):`.
The main event is public as `api_name="cross_entropy"`; the other events are private.
"""

import functools
import math

import gradio as gr
import pandas as pd
import torch
from matplotlib.figure import Figure

from mnist_demo.constants import CLASS_NAMES, NUM_CLASSES
from mnist_demo.losses import (
    ANIMAL_CLASSES,
    EPSILON,
    LESSON_EXAMPLES,
    LESSON_LOGITS,
    AllZeroProbabilitiesError,
    correct_loss,
    cross_entropy,
    cross_entropy_loss,
    double_softmax_loss,
    double_softmax_range,
    log_softmax,
    logits_from_probabilities,
    normalise_probabilities,
    one_hot,
    softmax,
    three_ways,
)
from mnist_demo.plots import cross_entropy_curve

# ---------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------

ANIMALS = "animals"
DIGITS = "digits"
CLASS_SET_CHOICES = [("3 classes: cat, dog, horse", ANIMALS), ("10 digits: 0-9", DIGITS)]
CLASS_NAMES_OF = {ANIMALS: list(ANIMAL_CLASSES), DIGITS: list(CLASS_NAMES)}

# Slider starting values: the lesson's first example for the animals; for the digits, the
# softmax of the lesson's ten logits (rounded to the slider step).
DEFAULT_PROBABILITIES = {
    ANIMALS: list(LESSON_EXAMPLES[0].y_hat),
    DIGITS: [round(float(p), 2) for p in softmax(LESSON_LOGITS)],
}
PROBABILITY_STEP = 0.01
LOGIT_MIN, LOGIT_MAX = -10.0, 10.0
LOGIT_STEP = 0.0001  # fine enough to hold the lesson's four-decimal logits exactly

# The figure is the slow part (~25 ms); two at a time suits a 2-vCPU Space.
FIGURE_CONCURRENCY = 2
# gr.Plot sends the figure as an image: webp is ~17 kB per update, png ~46 kB (and only
# ~3 ms faster to encode); a classroom shares one wifi.
FIGURE_FORMAT = "webp"
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]
BUG_LABEL = "apply softmax before nn.CrossEntropyLoss (a common bug)"

# ---------------------------------------------------------------------------------------
# Text pieces
# ---------------------------------------------------------------------------------------

INTRO_MARKDOWN = r"""
## Cross-entropy: how wrong is a prediction?
Cross-entropy compares the label $p$ (the truth) with the prediction $q$ (the network's
probabilities), using the natural log:

$$H(p, q) = -\sum_i p(i)\,\log q(i)$$

The label $y$ is one-hot (a 1 for the true class, 0 elsewhere), so every term but one is
zero and the loss is simply $-\log \hat{y}_{\text{true}}$: perfect ($\hat{y}_{\text{true}} = 1$)
costs $\log 1 = 0$, and the cost grows without bound as $\hat{y}_{\text{true}} \to 0$.
"""

BUG_EXPLANATION = (
    "**Why it is wrong:** `nn.CrossEntropyLoss` applies log_softmax *itself*, so it expects "
    "raw logits. Given probabilities, it takes the softmax of a softmax. Probabilities all "
    "lie between 0 and 1, so their softmax is nearly uniform: with {n} classes the buggy loss "
    "is stuck between {low:.2f} and {high:.2f} whatever the prediction. It never reaches 0 "
    "for a perfect prediction, and training gets a weak, misleading signal. Use softmax only "
    "to *show* probabilities; give the loss the logits."
)

BUG_HINT = f"Tick *{BUG_LABEL}* above to see what that bug does to this loss."


def _fmt(value: float) -> str:
    """A loss to 4 decimals; infinity as the symbol; never "-0.0000"."""
    if math.isinf(value):
        return "∞"
    return f"{round(value, 4) + 0.0:.4f}"  # + 0.0 turns -0.0 into 0.0


def _class_names(class_set: str) -> list[str]:
    if class_set not in CLASS_NAMES_OF:
        raise gr.Error(f"Unknown set of classes {class_set!r}: choose {ANIMALS} or {DIGITS}.")
    return CLASS_NAMES_OF[class_set]


def _check_true_class(true_class: int | str | None, num_classes: int) -> int:
    """The true class as an index 0..C-1 (API callers may send "7" or 7.0)."""
    try:
        index = int(float(true_class))
    except (TypeError, ValueError, OverflowError):  # None, "cat", inf, nan
        index = -1
    if not 0 <= index < num_classes or index != float(true_class):
        raise gr.Error(f"Choose a true class between 0 and {num_classes - 1}.")
    return index


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]], text_columns: int = 1) -> str:
    """A Markdown table: the first `text_columns` left-aligned, the numbers right-aligned."""
    align = [":--"] * text_columns + ["--:"] * (len(header) - text_columns)
    return "\n".join([_row(header), _row(align)] + [_row(r) for r in rows])


def _bug_markdown(wrong: float, right: float, num_classes: int, where: str = "") -> str:
    low, high = double_softmax_range(num_classes)
    return "\n\n".join(
        [
            *([where] if where else []),
            _table(
                ["", "code", "loss"],
                text_columns=2,
                rows=[
                    ["right", "`nn.CrossEntropyLoss()(logits, target)`", f"**{_fmt(right)}**"],
                    [
                        "with the bug",
                        "`nn.CrossEntropyLoss()(F.softmax(logits, dim=1), target)`",
                        f"**{_fmt(wrong)}**",
                    ],
                ],
            ),
            BUG_EXPLANATION.format(n=num_classes, low=low, high=high),
        ]
    )


# ---------------------------------------------------------------------------------------
# Handlers: from probabilities
# ---------------------------------------------------------------------------------------


def _lesson_note(class_set: str, y_hat: torch.Tensor, true_class: int) -> str:
    """The lesson's comment when the sliders show one of its worked examples."""
    if class_set != ANIMALS:
        return ""
    for example in LESSON_EXAMPLES:
        if example.true_class == true_class and torch.allclose(
            y_hat, torch.tensor(example.y_hat), atol=1e-6
        ):
            return example.note
    return ""


def _vector_markdown(
    names: list[str], values: list[float], y_hat: torch.Tensor | None, true_class: int
) -> str:
    """Sliders, normalised y_hat and the one-hot y, one column per class."""
    total = sum(values)
    rows = [["sliders"] + [f"{v:.2f}" for v in values] + [f"{total:.2f}"]]
    if y_hat is not None:
        rows.append(["ŷ = slider ÷ sum"] + [f"{p:.4f}" for p in y_hat.tolist()] + ["1.0000"])
    y = one_hot(true_class, len(names)).int().tolist()
    rows.append(
        [f"y (one-hot, true = {names[true_class]})"] + [f"**{v}**" if v else "0" for v in y] + ["1"]
    )
    if y_hat is None:
        how = "Each slider is normally **divided by their sum**; here the sum is 0."
    else:
        how = (
            "The sliders need not add up to 1: each is **divided by their sum** "
            f"({total:.2f}), so the predicted probabilities ŷ do."
        )
    return how + "\n\n" + _table([""] + names + ["sum"], rows)


def _three_ways_markdown(probabilities: torch.Tensor, true_class: int) -> str:
    ways = three_ways(probabilities, true_class)
    table = _table(
        ["way", "code", "loss"],
        text_columns=2,
        rows=[
            [
                "1. by hand from probabilities (the lesson's function)",
                "`-torch.sum(y * torch.log(y_hat + 1e-15))`",
                _fmt(ways.by_hand),
            ],
            [
                "2. negative log likelihood of log-probabilities",
                "`F.nll_loss(torch.log(y_hat), target)`",
                _fmt(ways.nll_loss),
            ],
            [
                "3. nn.CrossEntropyLoss on logits whose softmax is ŷ",
                "`nn.CrossEntropyLoss()(torch.log(y_hat), target)`",
                _fmt(ways.cross_entropy_loss),
            ],
        ],
    )
    if math.isinf(ways.nll_loss):
        verdict = (
            "Ways 2 and 3 give ∞: -log(0) really is infinite. Way 1 adds ε = 1e-15 inside "
            f"the log, so it gives -log(1e-15) = {_fmt(ways.by_hand)} instead: a large but "
            "finite number, so a computation never breaks on inf or NaN."
        )
    else:
        verdict = "All three give the same number (to the 4 decimals shown)."
    return table + "\n\n" + verdict


def cross_entropy_view(
    class_set: str, true_class: int, apply_softmax_bug: bool, *slider_values: float
) -> tuple[str, str, Figure, str, str]:
    """Probabilities mode: sliders -> (loss, vectors, curve figure, three ways, bug).

    Only the first 3 (animals) or 10 (digits) slider values are used; the hidden ones are
    ignored. All sliders at 0 gives a clear message in place of a loss (0 / 0 cannot be
    normalised), never an error.
    """
    names = _class_names(class_set)
    true_class = _check_true_class(true_class, len(names))
    if len(slider_values) < len(names):
        raise gr.Error(f"Give {len(names)} slider values, one per class.")
    values = [float(v or 0.0) for v in slider_values[: len(names)]]

    try:
        y_hat = normalise_probabilities(values)  # (C,), sums to 1
    except AllZeroProbabilitiesError as err:
        message = f"### No loss yet\n**{err}**"
        return (
            message,
            _vector_markdown(names, values, None, true_class),
            cross_entropy_curve(None),
            "The three ways need probabilities: move a slider above 0.",
            "",
        )
    except ValueError as err:  # negative or NaN values sent through the API
        raise gr.Error(str(err)) from err

    y = one_hot(true_class, len(names))  # (C,)
    loss = float(cross_entropy(y, y_hat))
    p_true = float(y_hat[true_class])
    name = names[true_class]

    lines = [
        f"Cross-entropy = -log(ŷ[{name}]) = -log({p_true:.4f}) =",
        f"# {_fmt(loss)}",
    ]
    if p_true == 0:
        lines.append(
            f"ŷ[{name}] = 0: the true loss -log(0) is **infinite**. The lesson's function adds "
            f"ε = {EPSILON:g} inside the log, which caps it at -log(1e-15) = {_fmt(loss)}."
        )
    else:
        note = _lesson_note(class_set, y_hat, true_class)
        if note:
            lines.append(f"*Lesson:* {note}")

    if apply_softmax_bug:
        logits = logits_from_probabilities(y_hat)  # (C,)
        bug = _bug_markdown(
            float(double_softmax_loss(logits, true_class)),
            float(correct_loss(logits, true_class)),
            len(names),
            where="Here `logits = torch.log(y_hat)`: logits whose softmax is ŷ.",
        )
    else:
        bug = BUG_HINT

    return (
        "\n\n".join(lines),
        _vector_markdown(names, values, y_hat, true_class),
        cross_entropy_curve(p_true, loss),
        _three_ways_markdown(y_hat, true_class),
        bug,
    )


def _slider_updates(class_set: str, values: list[float]) -> list[dict]:
    """Ten slider updates: the first len(values) visible with class names, the rest hidden."""
    names = CLASS_NAMES_OF[class_set]
    updates = []
    for i in range(NUM_CLASSES):
        if i < len(names):
            updates.append(gr.update(visible=True, label=f"P({names[i]})", value=values[i]))
        else:
            updates.append(gr.update(visible=False, value=0.0))
    return updates


def _true_class_update(class_set: str, true_class: int) -> dict:
    names = CLASS_NAMES_OF[class_set]
    return gr.update(choices=[(n, i) for i, n in enumerate(names)], value=true_class)


def switch_classes(class_set: str, apply_softmax_bug: bool) -> tuple:
    """Switch between the 3 animals and the 10 digits: relabel, show/hide and reset sliders.

    Returns 10 slider updates, the true-class update, then `cross_entropy_view`'s outputs.
    """
    names = _class_names(class_set)
    values = DEFAULT_PROBABILITIES[class_set]
    padded = values + [0.0] * (NUM_CLASSES - len(names))
    return (
        *_slider_updates(class_set, values),
        _true_class_update(class_set, 0),
        *cross_entropy_view(class_set, 0, apply_softmax_bug, *padded),
    )


def apply_lesson_example(index: int, apply_softmax_bug: bool) -> tuple:
    """One of the lesson's worked examples (3 classes, true = cat), set in one click.

    Returns the class-set value, 10 slider updates, the true-class update, then
    `cross_entropy_view`'s outputs.
    """
    example = LESSON_EXAMPLES[index]
    values = list(example.y_hat)
    padded = values + [0.0] * (NUM_CLASSES - len(values))
    return (
        ANIMALS,
        *_slider_updates(ANIMALS, values),
        _true_class_update(ANIMALS, example.true_class),
        *cross_entropy_view(ANIMALS, example.true_class, apply_softmax_bug, *padded),
    )


# ---------------------------------------------------------------------------------------
# Handlers: from logits
# ---------------------------------------------------------------------------------------


def logits_view(
    true_class: int, apply_softmax_bug: bool, *logit_values: float
) -> tuple[pd.DataFrame, str, str, str]:
    """Logits mode: ten logits -> (softmax bars, table, loss, bug comparison)."""
    true_class = _check_true_class(true_class, NUM_CLASSES)
    if len(logit_values) != NUM_CLASSES:
        raise gr.Error(f"Give {NUM_CLASSES} logits, one per digit.")
    logits = torch.tensor([float(v or 0.0) for v in logit_values])  # (10,)
    if not torch.isfinite(logits).all():
        raise gr.Error("Every logit must be a finite number.")

    probabilities = softmax(logits)  # (10,), sums to 1
    log_probabilities = log_softmax(logits)  # (10,), exp() gives the probabilities
    loss = float(cross_entropy_loss(logits.unsqueeze(0), torch.tensor([true_class])))

    bars = pd.DataFrame(
        {
            "digit": CLASS_NAMES,
            "probability": probabilities.tolist(),
            "class": ["true class" if i == true_class else "other" for i in range(NUM_CLASSES)],
        }
    )
    table = _table(
        ["digit"] + CLASS_NAMES + ["sum"],
        [
            ["logit"] + [f"{v:.4f}" for v in logits.tolist()] + [f"{float(logits.sum()):.4f}"],
            ["softmax"]
            + [f"{v:.4f}" for v in probabilities.tolist()]
            + [f"**{float(probabilities.sum()):.2f}**"],
            ["log_softmax"]
            + [f"{v:.4f}" for v in log_probabilities.tolist()]
            + [f"**{float(log_probabilities.sum()):.4f}**"],
        ],
    )
    digit = CLASS_NAMES[true_class]
    loss_markdown = "\n\n".join(
        [
            (
                f"Cross-entropy = -log_softmax(logits)[{digit}] = "
                "`F.nll_loss(F.log_softmax(logits, dim=1), labels)` ="
            ),
            f"# {_fmt(loss)}",
        ]
    )
    if apply_softmax_bug:
        bug = _bug_markdown(
            float(double_softmax_loss(logits, true_class)),
            float(correct_loss(logits, true_class)),
            NUM_CLASSES,
        )
    else:
        bug = BUG_HINT
    return bars, table, loss_markdown, bug


def set_logits(values: list[float], true_class: int, apply_softmax_bug: bool) -> tuple:
    """A logits preset: 10 slider values, then `logits_view`'s outputs."""
    return (*values, *logits_view(true_class, apply_softmax_bug, *values))


# ---------------------------------------------------------------------------------------
# UI wiring
# ---------------------------------------------------------------------------------------


def build_cross_entropy_tab() -> None:
    """Create the tab's components and events inside the current `gr.Tab` context."""
    gr.Markdown(INTRO_MARKDOWN, latex_delimiters=LATEX_DELIMITERS)
    bug_box = gr.Checkbox(label=BUG_LABEL, value=False)

    with gr.Tabs():
        with gr.Tab("From probabilities"):
            _build_probabilities_mode(bug_box)
        with gr.Tab("From logits"):
            _build_logits_mode(bug_box)


def _build_probabilities_mode(bug_box: gr.Checkbox) -> None:
    start_values = DEFAULT_PROBABILITIES[ANIMALS] + [0.0] * (NUM_CLASSES - len(ANIMAL_CLASSES))
    first = cross_entropy_view(ANIMALS, 0, False, *start_values)

    with gr.Row():
        with gr.Column(scale=2):
            class_set = gr.Radio(CLASS_SET_CHOICES, value=ANIMALS, label="Classes")
            sliders = []
            for i in range(NUM_CLASSES):
                visible = i < len(ANIMAL_CLASSES)
                sliders.append(
                    gr.Slider(
                        0,
                        1,
                        value=start_values[i],
                        step=PROBABILITY_STEP,
                        label=f"P({ANIMAL_CLASSES[i]})" if visible else f"P({CLASS_NAMES[i]})",
                        visible=visible,
                    )
                )
            # A dropdown that accepts any value: its choices change with the classes, and
            # API callers must be able to pick digit 7 without switching first. The handler
            # checks the range itself.
            true_class = gr.Dropdown(
                [(n, i) for i, n in enumerate(ANIMAL_CLASSES)],
                value=0,
                label="True class (the label y is one-hot: 1 here, 0 elsewhere)",
                allow_custom_value=True,
            )
            gr.Markdown("**The lesson's examples** (true class cat, one click each)")
            with gr.Row():
                example_btns = [gr.Button(example.label, size="sm") for example in LESSON_EXAMPLES]
        with gr.Column(scale=3):
            loss_md = gr.Markdown(first[0])
            curve_plot = gr.Plot(first[2], format=FIGURE_FORMAT, show_label=False)
    vector_md = gr.Markdown(first[1])
    gr.Markdown("### Three ways, same number")
    three_ways_md = gr.Markdown(first[3])
    gr.Markdown("### The nn.CrossEntropyLoss quirk")
    bug_md = gr.Markdown(first[4])

    view_outputs = [loss_md, vector_md, curve_plot, three_ways_md, bug_md]
    figure_events = {
        "trigger_mode": "always_last",  # while dragging, skip to the latest slider value
        "show_progress": "hidden",  # nothing flickers over the outputs
        "concurrency_limit": FIGURE_CONCURRENCY,
        "concurrency_id": "cross_entropy_figure",
    }
    gr.on(
        triggers=[s.input for s in sliders] + [true_class.input, bug_box.input],
        fn=cross_entropy_view,
        inputs=[class_set, true_class, bug_box, *sliders],
        outputs=view_outputs,
        api_name="cross_entropy",
        **figure_events,
    )
    class_set.input(
        switch_classes,
        inputs=[class_set, bug_box],
        outputs=[*sliders, true_class, *view_outputs],
        api_visibility="private",
        **figure_events,
    )
    for index, btn in enumerate(example_btns):
        btn.click(
            functools.partial(apply_lesson_example, index),
            inputs=[bug_box],
            outputs=[class_set, *sliders, true_class, *view_outputs],
            api_visibility="private",
            **figure_events,
        )


def _build_logits_mode(bug_box: gr.Checkbox) -> None:
    first = logits_view(0, False, *LESSON_LOGITS)

    with gr.Row():
        with gr.Column(scale=2):
            sliders = [
                gr.Slider(
                    LOGIT_MIN,
                    LOGIT_MAX,
                    value=LESSON_LOGITS[i],
                    step=LOGIT_STEP,
                    label=f"logit for {CLASS_NAMES[i]}",
                )
                for i in range(NUM_CLASSES)
            ]
            with gr.Row():
                lesson_btn = gr.Button("The lesson's ten logits", size="sm")
                zeros_btn = gr.Button("All logits 0 (no idea)", size="sm")
        with gr.Column(scale=3):
            true_class = gr.Radio(
                [(n, i) for i, n in enumerate(CLASS_NAMES)], value=0, label="True class"
            )
            loss_md = gr.Markdown(first[2])
            bars = gr.BarPlot(
                first[0],
                x="digit",
                y="probability",
                color="class",
                color_map={"true class": "#f97316", "other": "#3b82f6"},
                y_lim=[0, 1],
                title="softmax(logits): probabilities that sum to 1",
                show_label=False,
            )
    gr.Markdown(
        "softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ); log_softmax(x)ᵢ = xᵢ - log Σⱼ exp(xⱼ), "
        "the numerically stable log of softmax."
    )
    table_md = gr.Markdown(first[1])
    bug_md = gr.Markdown(first[3])

    outputs = [bars, table_md, loss_md, bug_md]
    quiet = {"trigger_mode": "always_last", "show_progress": "hidden"}
    gr.on(
        triggers=[s.input for s in sliders] + [true_class.input, bug_box.input],
        fn=logits_view,
        inputs=[true_class, bug_box, *sliders],
        outputs=outputs,
        api_visibility="private",
        **quiet,
    )
    for btn, values in [(lesson_btn, LESSON_LOGITS), (zeros_btn, [0.0] * NUM_CLASSES)]:
        btn.click(
            functools.partial(set_logits, list(values)),
            inputs=[true_class, bug_box],
            outputs=[*sliders, *outputs],
            api_visibility="private",
            **quiet,
        )
