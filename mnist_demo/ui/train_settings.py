"""The Train tab's settings: what a student chooses before pressing Train.

In view: what one press trains (one run, or a comparison of optimizers), the optimizer and
its learning rate, how long, and the softmax bug; the settings students rarely change fold
away under "More settings", so that the Train button, the status line and the live loss
chart fit on one laptop or projector screen together.
"""

import math
from typing import NamedTuple

import gradio as gr

from mnist_demo.classroom.comparisons import FAIR, SAME_LR, SINGLE
from mnist_demo.classroom.runs import (
    BATCH_RANGE,
    HIDDEN_RANGE,
    INIT_RANDOM,
    INIT_SHIPPED,
    LR_RANGE,
    MAX_EPOCHS,
    MAX_STEPS,
    TRAIN_SIZE_RANGE,
)
from mnist_demo.constants import TRAIN_IMAGES
from mnist_demo.train import TrainConfig

OPTIMIZER_CHOICES = [("Adam", "adam"), ("SGD", "sgd"), ("SGD with momentum 0.9", "momentum")]
COMPARISON_CHOICES = [
    ("One run, with the settings below", SINGLE),
    ("Fair comparison: each optimizer at a rate that suits it", FAIR),
    ("Same rate for all three: 0.001", SAME_LR),
]
INIT_CHOICES = [
    ("random weights (from the seed)", INIT_RANDOM),
    ("the shipped model", INIT_SHIPPED),
]
UNIT_CHOICES = ["epochs", "steps"]
BATCH_CHOICES = [16, 32, 64, 128, 256, 512]
DEFAULT = TrainConfig()

# The learning-rate slider moves 10^x, in the browser: 0.001, 0.0013, 0.0016, 0.002, ...
LR_EXPONENTS = (round(math.log10(LR_RANGE[0])), round(math.log10(LR_RANGE[1])))
EXPONENT_TO_LR_JS = "(x) => Number(Math.pow(10, x).toPrecision(2))"
LR_TO_EXPONENT_JS = (
    f"(lr) => Math.min({LR_EXPONENTS[1]}, Math.max({LR_EXPONENTS[0]}, "
    "Math.round(Math.log10(lr) * 10) / 10))"
)


class Settings(NamedTuple):
    """The settings' inputs, in the order of `train_model`'s parameters."""

    optimizer: gr.Radio
    lr: gr.Number
    batch_size: gr.Dropdown
    unit: gr.Radio
    amount: gr.Number
    train_size: gr.Slider
    hidden_size: gr.Slider
    seed: gr.Number
    init: gr.Radio
    comparison: gr.Radio
    softmax_bug: gr.Checkbox


def main_settings() -> tuple[gr.Radio, gr.Radio, gr.Number, gr.Radio, gr.Number, gr.Checkbox]:
    """The settings in view: the comparison, optimizer, learning rate, length and the bug."""
    comparison = gr.Radio(
        COMPARISON_CHOICES, value=SINGLE, label="One press of Train trains", elem_id="train-what"
    )
    with gr.Row():
        optimizer = gr.Radio(OPTIMIZER_CHOICES, value=DEFAULT.optimizer, label="Optimizer")
        lr = gr.Number(
            value=DEFAULT.lr,
            label=f"learning rate ({LR_RANGE[0]:g} to {LR_RANGE[1]:g})",
            elem_id="train-lr",
            min_width=120,
        )
    with gr.Row():
        unit = gr.Radio(UNIT_CHOICES, value="epochs", label="Train for")
        amount = gr.Number(
            value=DEFAULT.epochs,
            label=f"how many (up to {MAX_EPOCHS:g} epochs or {MAX_STEPS:,} steps)",
            min_width=120,
        )
    softmax_bug = gr.Checkbox(
        value=False,
        label="With the softmax bug: softmax before nn.CrossEntropyLoss (watch the loss stall)",
    )
    return comparison, optimizer, lr, unit, amount, softmax_bug


def more_settings(lr: gr.Number) -> tuple:
    """The folded settings: the rate's log slider, batch size, images, width, seed, start."""
    with gr.Accordion("More settings", open=False):
        lr_exponent = gr.Slider(
            *LR_EXPONENTS,
            value=round(math.log10(DEFAULT.lr)),
            step=0.1,
            label="Learning rate, log scale: 10^x",
            info="-4 is 0.0001, -3 is 0.001 (the lesson's Adam), 0 is 1",
        )
        # The slider (log scale) and the number kept in step, in the browser only.
        lr_exponent.input(None, inputs=lr_exponent, outputs=lr, js=EXPONENT_TO_LR_JS)
        lr.input(None, inputs=lr, outputs=lr_exponent, js=LR_TO_EXPONENT_JS)
        batch_size = gr.Dropdown(
            BATCH_CHOICES,
            value=DEFAULT.batch_size,
            label=f"Batch size (images per step, up to {BATCH_RANGE[1]:,})",
            allow_custom_value=True,  # any size; the handler caps it
        )
        train_size = gr.Slider(
            *TRAIN_SIZE_RANGE,
            value=TRAIN_IMAGES,
            step=100,
            label=f"Training images used (the first N of MNIST's {TRAIN_IMAGES:,}; "
            "few images: watch the test loss rise while the training loss falls)",
        )
        hidden_size = gr.Slider(
            *HIDDEN_RANGE,
            value=DEFAULT.hidden_size,
            step=8,
            label="Hidden width (the lesson's network has 128)",
        )
        seed = gr.Number(
            value=DEFAULT.seed,
            precision=0,
            label="Seed (same seed: same initial weights, same batches)",
        )
        init = gr.Radio(INIT_CHOICES, value=DEFAULT.init, label="Start from")
    return batch_size, train_size, hidden_size, seed, init
