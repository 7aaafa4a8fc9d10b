"""Learn from this drawing: the lesson's training step, on one drawing the student labels.

    result = learn_from_drawing(model, canvas, digit=2, steps=1)
    result.loss_before, result.loss_after   # this drawing's cross-entropy for the label 2
    result.model                            # a new, trained copy; `model` is left untouched

Each step is the lesson's five lines (`mnist_demo.train.train_step`) on a batch of one image.
Teaching one drawing again and again makes the network sure of *that* drawing, but it can
make it worse at the others: the accuracy on held-out test digits may fall.
"""

import copy
import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnist_demo.explain import INPUT_SHAPE, check_digit
from mnist_demo.preprocess import to_model_input
from mnist_demo.train import OPTIMIZERS, make_optimizer, train_step

MAX_STEPS = 100  # steps per call: the server is shared by a whole class


@dataclass(frozen=True)
class LearnResult:
    """One drawing learnt: the new model, and this drawing's loss before and after."""

    model: nn.Module  # a new model after the steps, in eval mode
    loss_before: float  # cross-entropy of the drawing with the chosen label, before the steps
    loss_after: float  # ... and after them
    probabilities_before: torch.Tensor  # (10,) softmax of the logits before
    probabilities_after: torch.Tensor  # (10,) and after
    steps: int
    optimizer: str  # "adam", "sgd" or "momentum"
    lr: float


def learn_from_drawing(
    model: nn.Module,
    image,
    digit: int,
    steps: int = 1,
    optimizer: str = "adam",
    lr: float = 1e-3,
) -> LearnResult:
    """Take `steps` optimizer steps on this one drawing labelled `digit`, on a copy of `model`.

    `image` is the normalised model input (1, 1, 28, 28), or a drawing that
    `mnist_demo.preprocess.to_model_input` accepts (a canvas data URL, an array, ...).
    A new optimizer is made for every call: Adam's moments (its running averages of the
    gradients) start at zero, so ten steps in one call are not the same as ten calls of one.
    Raises ValueError for a bad argument, EmptyCanvasError for an empty drawing.
    """
    digit = check_digit(digit)
    check_settings(steps, optimizer, lr)
    images = as_model_input(image)  # (1, 1, 28, 28)
    targets = torch.tensor([digit])  # (1,) a batch of one label

    new_model = copy.deepcopy(model).eval()  # the caller's model never changes
    loss_fn = nn.CrossEntropyLoss()  # takes raw logits
    torch_optimizer = make_optimizer(optimizer, new_model.parameters(), lr)
    loss_before, probabilities_before = loss_and_probabilities(new_model, images, targets)
    new_model.train()
    with torch.enable_grad():  # even if the caller turned gradients off
        for _ in range(steps):
            train_step(new_model, torch_optimizer, loss_fn, images, targets)
    new_model.eval()
    loss_after, probabilities_after = loss_and_probabilities(new_model, images, targets)
    return LearnResult(
        model=new_model,
        loss_before=loss_before,
        loss_after=loss_after,
        probabilities_before=probabilities_before,
        probabilities_after=probabilities_after,
        steps=int(steps),
        optimizer=optimizer,
        lr=float(lr),
    )


def loss_and_probabilities(
    model: nn.Module, images: torch.Tensor, targets: torch.Tensor
) -> tuple[float, torch.Tensor]:
    """The cross-entropy of one image (a float) and its ten probabilities (10,)."""
    with torch.no_grad():
        logits = model(images)  # (1, 10)
        loss = F.cross_entropy(logits, targets)  # = -log(softmax(logits)[digit])
        return loss.item(), F.softmax(logits, dim=1)[0]


def as_model_input(image) -> torch.Tensor:
    """The normalised input (1, 1, 28, 28): kept if it already is one, else preprocessed."""
    if isinstance(image, torch.Tensor) and tuple(image.shape) == INPUT_SHAPE:
        if not torch.isfinite(image).all():
            raise ValueError("image contains NaN or infinite values.")
        # A plain copy of our own: the caller's tensor may come from inference mode, which
        # autograd refuses to use, or may itself require gradients.
        return image.detach().clone().float()
    return to_model_input(image)


def check_settings(steps: int, optimizer: str, lr: float) -> None:
    """A ValueError naming the argument when steps, optimizer or lr is out of range."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise ValueError(f"steps must be a whole number, got {steps!r}.")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be from 1 to {MAX_STEPS} per call, got {steps}.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}.")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr):
        raise ValueError(f"lr must be a finite number, got {lr!r}.")
    if not 0 < lr <= 1:
        raise ValueError(f"lr must be above 0 and at most 1, got {lr!r}.")
