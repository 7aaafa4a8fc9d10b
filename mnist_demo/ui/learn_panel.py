"""The Draw tab's "Learn from this drawing": one (or ten) steps of the lesson's training on
the student's own drawing, on their own copy of the model, with what changed.

The shipped model never changes; the copy lives in the student's session, and nobody else
sees it. The held-out accuracy shows what over-teaching one drawing does to the others.
"""

import functools
from typing import NamedTuple

import gradio as gr

from mnist_demo.classroom.limits import check_drawing
from mnist_demo.constants import CLASS_NAMES, EVAL_SIZE
from mnist_demo.data import MNISTNotFoundError, first_images, shared_data
from mnist_demo.evaluate import evaluate
from mnist_demo.learn import LearnResult, learn_from_drawing
from mnist_demo.preprocess import EmptyCanvasError, to_model_input
from mnist_demo.ui.lesson_panels import accuracy_text, draw_model, meant_digit
from mnist_demo.ui.palette import BEFORE, OTHER, TRUE_CLASS, swatch

OPTIMIZER_CHOICES = [("Adam", "adam"), ("SGD", "sgd")]
DEFAULT_LR = 1e-3  # the lesson's Adam learning rate
NOT_YET = (
    "Choose the digit you meant, then press **Learn**: the network takes one step of the "
    "lesson's training (zero_grad, forward, loss, backward, step) on your drawing."
)
RESET_DONE = "Back to the shipped model: everything it learnt from your drawings is gone."


class LearnControls(NamedTuple):
    optimizer: gr.Radio
    lr: gr.Number
    one_step_btn: gr.Button
    ten_steps_btn: gr.Button
    reset_btn: gr.Button
    result: gr.Markdown
    bars: gr.HTML


def build_learn_controls() -> LearnControls:
    """The panel's components; call inside the Draw tab."""
    with gr.Row():
        optimizer = gr.Radio(OPTIMIZER_CHOICES, value="adam", label="Optimizer", scale=2)
        lr = gr.Number(value=DEFAULT_LR, label="learning rate", minimum=1e-5, maximum=1, scale=1)
    with gr.Row():
        one_step_btn = gr.Button("Learn from this drawing (1 step)", variant="primary")
        ten_steps_btn = gr.Button("Learn: 10 steps")
        reset_btn = gr.Button("Reset to the shipped model")
    result = gr.Markdown(NOT_YET, elem_id="learn-result")
    bars = gr.HTML("", elem_id="learn-bars")
    return LearnControls(optimizer, lr, one_step_btn, ten_steps_btn, reset_btn, result, bars)


def learn(canvas, meant, optimizer, lr, session, steps: int = 1) -> tuple[str, str]:
    """Take `steps` learning steps on this drawing; the student's model becomes the result.

    Returns (what changed, in Markdown; the before and after bars, in HTML).
    """
    digit = meant_digit(meant)
    if digit is None:
        raise gr.Error("First choose the digit you meant (under the bars).")
    try:
        check_drawing(canvas)  # from its PNG header: a huge picture is refused before decoding
        x = to_model_input(canvas)  # (1, 1, 28, 28)
        before = draw_model(session)
        result = learn_from_drawing(before, x, digit, steps=steps, optimizer=optimizer, lr=lr)
    except EmptyCanvasError as error:
        raise gr.Error("Draw a digit first, then teach it.") from error
    except ValueError as error:
        raise gr.Error(str(error)) from error
    session.draw_model = result.model
    session.taught_steps += steps
    taught = f"{session.taught_steps} step" + ("s" if session.taught_steps > 1 else "")
    session.draw_model_name = f"your model after {taught} on your drawings"
    held_out = held_out_accuracies(before, result.model)
    return change_markdown(result, digit, held_out), before_after_bars(result, digit)


def reset(session) -> tuple[str, str]:
    session.draw_model, session.draw_model_name, session.taught_steps = None, None, 0
    return RESET_DONE, ""


def held_out_accuracies(before, after) -> tuple[float | None, float | None]:
    """Accuracy on the first 1,000 MNIST test digits, before and after (None: no MNIST)."""
    try:
        _, test_set = shared_data()
    except MNISTNotFoundError:
        return None, None
    held_out = first_images(test_set, EVAL_SIZE)
    return evaluate(before, held_out), evaluate(after, held_out)


def change_markdown(result: LearnResult, digit: int, held_out: tuple) -> str:
    p_before = float(result.probabilities_before[digit])
    p_after = float(result.probabilities_after[digit])
    steps = "1 step" if result.steps == 1 else f"{result.steps} steps"
    name = {"adam": "Adam", "sgd": "SGD", "momentum": "SGD with momentum"}.get(
        result.optimizer, result.optimizer
    )
    return (
        f"**{steps} of {name} (lr {result.lr:g}) towards {digit}:** "
        f"loss {result.loss_before:.3f} → **{result.loss_after:.3f}**, "
        f"p({digit}) {p_before:.1%} → **{p_after:.1%}**.  \n"
        f"Held-out: {accuracy_text(held_out[0])} → **{accuracy_text(held_out[1])}**. "
        f"Teach one drawing too hard and the others can suffer."
    )


def before_after_bars(result: LearnResult, digit: int, width: int = 320) -> str:
    """Ten pairs of bars as an inline SVG: before (faint ghost), after (solid)."""
    height, base, slot = 150, 130, width / len(CLASS_NAMES)
    shapes = []
    for i, (p_before, p_after) in enumerate(
        zip(result.probabilities_before.tolist(), result.probabilities_after.tolist(), strict=True)
    ):
        x = i * slot + slot * 0.15
        colour = TRUE_CLASS if i == digit else OTHER
        for offset, p, style in (
            (0, p_before, f'fill="{BEFORE}" opacity="0.6"'),
            (0.35, p_after, f'fill="{colour}"'),
        ):
            bar = p * (base - 10)
            shapes.append(
                f'<rect x="{x + offset * slot:.1f}" y="{base - bar:.1f}" width="{slot * 0.35:.1f}" '
                f'height="{bar:.1f}" {style}/>'
            )
        shapes.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{base + 14}" font-size="11" text-anchor="middle">{i}</text>'
        )
    label = (
        f"Softmax before (grey) and after (colour) learning: p({digit}) went from "
        f"{float(result.probabilities_before[digit]):.3f} to {float(result.probabilities_after[digit]):.3f}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}">{"".join(shapes)}</svg>'
        f'<p style="margin:0;font-size:0.85em">{swatch(BEFORE, "before")} · after: '
        f"{swatch(TRUE_CLASS, f'{digit}, the digit you meant')}, "
        f"{swatch(OTHER, 'the other digits')}</p>"
    )


def wire_learn(controls: LearnControls, pad, meant, session, answer_again) -> None:
    """Learn and Reset, each followed by the drawing answered again with the new model."""
    inputs = [pad, meant, controls.optimizer, controls.lr, session]
    outputs = [controls.result, controls.bars]
    for button, steps in ((controls.one_step_btn, 1), (controls.ten_steps_btn, 10)):
        event = {
            "fn": functools.partial(learn, steps=steps),
            "inputs": inputs,
            "outputs": outputs,
            "concurrency_limit": 2,
            "concurrency_id": "learn",
        }
        # The page's buttons privately, API callers through an event with no trigger: a
        # public event with a State input makes the browser warn (see build_draw_tab).
        answer_again(button.click(**event, api_visibility="private"))
        gr.on([], **event, api_name="learn" if steps == 1 else "learn_10")
    answer_again(controls.reset_btn.click(reset, [session], outputs, api_name="reset_draw_model"))
