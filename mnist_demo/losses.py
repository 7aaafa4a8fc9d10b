"""Softmax and cross-entropy: the maths the app's Cross-entropy tab explains.

Pure torch, no gradio. Every number the tab shows comes from a function here, so the tests
can check the lesson's numbers (0.2877, 0.0101, 0, 4.6052, 34.54) against PyTorch itself.

    logits (C,)  --softmax-->  probabilities y_hat (C,), all >= 0, sum 1
    labels y (C,) one-hot      cross-entropy H(y, y_hat) = -sum_i y_i log(y_hat_i)
                                                         = -log(y_hat[true class])

Three ways to the same number, as in the lesson:
1. by hand from probabilities: `cross_entropy(y, y_hat)`, with epsilon inside the log;
2. `F.nll_loss` of log-probabilities (`cross_entropy_loss` does log_softmax + nll_loss);
3. `nn.CrossEntropyLoss` on raw logits (it applies log_softmax itself).

Try it: `python -c "from mnist_demo.losses import *; print(cross_entropy([1, 0, 0], [0.75, 0.25, 0.0]))"`
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

# The lesson adds this to every probability before the log, so log(0) never happens.
# The price: a true-class probability of 0 costs -log(1e-15) = 34.54 instead of infinity.
EPSILON = 1e-15

# The lesson's three classes for the cross-entropy slides (0 = cat, 1 = dog, 2 = horse).
ANIMAL_CLASSES = ("cat", "dog", "horse")

# The lesson's worked example: ten raw scores from the network's last layer.
# softmax(LESSON_LOGITS) sums to 1.00; log_softmax(LESSON_LOGITS) sums to -24.6857.
LESSON_LOGITS = [0.7645, 0.8300, -0.2343, 0.9186, -0.2191, 0.2018, -0.4869, 0.8000, 0.8815, -0.7336]
LESSON_LOG_SOFTMAX_SUM = -24.6857

# Anything a student or an API caller passes in: a list of numbers or a tensor.
Numbers = Sequence[float] | torch.Tensor


class AllZeroProbabilitiesError(ValueError):
    """All probabilities are zero, so there is nothing to divide by."""


@dataclass(frozen=True)
class LessonExample:
    """One worked example from the lesson's cross-entropy slides (3 classes, true = cat)."""

    label: str  # what the button says
    y_hat: tuple[float, float, float]  # predicted probabilities for cat, dog, horse
    true_class: int  # index into ANIMAL_CLASSES
    loss: float  # the correct value, rounded to 4 decimals
    note: str = ""  # what the tab says next to the number


LESSON_EXAMPLES = (
    LessonExample(
        "y_hat = [0.75, 0.25, 0.0]",
        (0.75, 0.25, 0.0),
        0,
        0.2877,
        "Not perfect, not the worst: the network gives the true class (cat) 75%.",
    ),
    LessonExample(
        "y_hat = [0.99, 0.01, 0.0]",
        (0.99, 0.01, 0.0),
        0,
        0.0101,
        "After training: 99% on cat, so the loss is almost 0.",
    ),
    LessonExample(
        "p(cat) = 1",
        (1.0, 0.0, 0.0),
        0,
        0.0,
        "A perfect prediction: -log(1) = 0, no loss at all.",
    ),
    LessonExample(
        "p(cat) = 0.01",
        (0.01, 0.99, 0.0),
        0,
        4.6052,
        "-ln(0.01) = 4.60517. The slide prints 4.65; that is a typo, 4.6052 is correct.",
    ),
    LessonExample(
        "p(cat) = 0 (edge case)",
        (0.0, 1.0, 0.0),
        0,
        34.5388,
        "-log(0) is infinite. The lesson's epsilon caps it: -log(0 + 1e-15) = 34.54.",
    ),
)


def _as_tensor(values: Numbers) -> torch.Tensor:
    """Lists become float tensors (torch's default float32, as in the lesson)."""
    if isinstance(values, torch.Tensor):
        return values if values.is_floating_point() else values.float()
    return torch.tensor(values, dtype=torch.get_default_dtype())


def softmax(logits: Numbers) -> torch.Tensor:
    """exp(x_i) / sum_j exp(x_j) over the last dimension: scores become probabilities.

    (C,) -> (C,) or (B, C) -> (B, C). The result is >= 0 and sums to 1 along the classes.
    """
    return F.softmax(_as_tensor(logits), dim=-1)


def log_softmax(logits: Numbers) -> torch.Tensor:
    """x_i - log(sum_j exp(x_j)) over the last dimension: the log of softmax, computed stably.

    (C,) -> (C,) or (B, C) -> (B, C). exp() of the result gives the probabilities back.
    """
    return F.log_softmax(_as_tensor(logits), dim=-1)


def log_softmax_exact(logits: Numbers) -> torch.Tensor:
    """log_softmax in float64, the top class's value kept to its last digits. (C,) -> (C,).

    The usual formula rounds log(1 + tiny) to 0, so a sure network's top class would print
    log_softmax 0 and softmax 1, which it never is. Here the largest logit is subtracted
    first (so no exp can overflow: the log-sum-exp trick) and log1p keeps the tiny rest:
    log_softmax(z) = (z - max z) - log1p(sum over the other classes of exp(z_j - max z)).
    """
    z = _as_tensor(logits).double()  # (C,)
    top = int(z.argmax())
    shifted = z - z[top]  # (C,), all <= 0 and 0 at the top: every exp is at most 1
    rest = torch.exp(torch.cat([shifted[:top], shifted[top + 1 :]])).sum()  # exact, no 1 + tiny
    return shifted - torch.log1p(rest)


# exp(z) is infinite in float32 above this: log(3.4e38), the largest float32.
FLOAT32_EXP_LIMIT = math.log(torch.finfo(torch.float32).max)  # 88.72


def naive_log_softmax(logits: Numbers) -> torch.Tensor:
    """log(exp(z) / sum exp(z)), computed as written in float32. (C,) -> (C,).

    What the lesson warns against: above z = 88.72 exp(z) is inf, and then inf / inf = nan and
    x / inf = 0, whose log is -inf. Below about z = -104 exp(z) is 0, and log(0) = -inf too.
    log_softmax gives finite numbers for the same logits.
    """
    z = _as_tensor(logits).float()  # (C,)
    return torch.log(torch.exp(z) / torch.exp(z).sum())


def one_hot(true_class: int, num_classes: int) -> torch.Tensor:
    """The label vector y: 1 at the true class, 0 everywhere else. Shape (num_classes,)."""
    if not 0 <= true_class < num_classes:
        raise ValueError(f"The true class must be between 0 and {num_classes - 1}.")
    y = torch.zeros(num_classes)
    y[true_class] = 1.0
    return y


def cross_entropy(y: Numbers, y_hat: Numbers, eps: float = EPSILON) -> torch.Tensor:
    """The lesson's hand-written cross-entropy: -sum(y * log(y_hat + eps)).

    y are the labels (one-hot), y_hat the predicted probabilities, both (C,) or (B, C).
    Only the true class has y = 1, so this is -log(y_hat[true class]). The tiny eps keeps
    log(0) away: y_hat[true] = 0 gives -log(1e-15) = 34.54 instead of infinity.
    Returns a scalar tensor for one example, or one loss per example, shape (B,).
    """
    y, y_hat = _as_tensor(y), _as_tensor(y_hat)
    return -torch.sum(y * torch.log(y_hat + eps), dim=-1)


def cross_entropy_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The lesson's cross-entropy from logits: log_softmax, then the negative log likelihood.

    logits (B, C) raw scores; labels (B,) class indices (no one-hot needed).
    nll_loss picks -log_prob[true class] for each example and averages over the batch,
    which is exactly what `F.cross_entropy(logits, labels)` computes.
    """
    log_probs = F.log_softmax(logits, dim=1)  # (B, C), each row's exp sums to 1
    return F.nll_loss(log_probs, labels)  # scalar: mean over the batch


def normalise_probabilities(values: Numbers) -> torch.Tensor:
    """Slider values divided by their sum, so they add up to 1 like probabilities must.

    (C,) -> (C,). All zeros cannot be normalised (0 / 0): that raises
    `AllZeroProbabilitiesError` with a message a student understands.
    """
    values = _as_tensor(values)
    if not torch.isfinite(values).all():
        raise ValueError("Every probability must be a finite number.")
    if (values < 0).any():
        raise ValueError("Probabilities cannot be negative.")
    total = values.sum()
    if total <= 0:
        raise AllZeroProbabilitiesError(
            "All probabilities are 0, so they cannot be divided by their sum (0 / 0). "
            "Move at least one slider above 0."
        )
    return values / total


def logits_from_probabilities(probabilities: Numbers) -> torch.Tensor:
    """Logits whose softmax gives these probabilities back: log(p).

    (C,) -> (C,). softmax(log p)_i = p_i / sum_j p_j = p_i when p sums to 1. Any constant
    could be added to every logit without changing the softmax; log(p) is the simplest choice.
    A probability of 0 becomes a logit of -infinity (exp(-inf) = 0), so it stays exactly 0.
    """
    return torch.log(normalise_probabilities(probabilities))


class ThreeWays(NamedTuple):
    """The same cross-entropy computed the lesson's three ways."""

    by_hand: float  # -sum(y * log(y_hat + eps)), from probabilities
    nll_loss: float  # F.nll_loss of log-probabilities
    cross_entropy_loss: float  # nn.CrossEntropyLoss on logits


def three_ways(probabilities: Numbers, true_class: int) -> ThreeWays:
    """The loss for one prediction three ways; they agree unless p(true class) is 0.

    probabilities (C,) are normalised first. With p(true) = 0 the library ways give
    infinity (-log 0) and the hand-written way gives 34.54 (its epsilon caps the log).
    """
    y_hat = normalise_probabilities(probabilities)  # (C,)
    y = one_hot(true_class, len(y_hat))  # (C,)
    targets = torch.tensor([true_class])  # (1,) a batch of one class index
    by_hand = cross_entropy(y, y_hat)
    nll = F.nll_loss(torch.log(y_hat).unsqueeze(0), targets)  # log-probs (1, C)
    logits = logits_from_probabilities(y_hat).unsqueeze(0)  # (1, C)
    ce = nn.CrossEntropyLoss()(logits, targets)
    return ThreeWays(float(by_hand), float(nll), float(ce))


def three_ways_from_logits(logits: Numbers, true_class: int) -> ThreeWays:
    """The loss of one output of the network (10 logits) the lesson's three ways.

    By hand from softmax(logits) with the lesson's epsilon; `F.nll_loss` of
    `F.log_softmax(logits)`; `nn.CrossEntropyLoss` on the logits themselves.
    """
    logits = _as_tensor(logits)  # (C,)
    targets = torch.tensor([true_class])  # (1,)
    by_hand = cross_entropy(one_hot(true_class, len(logits)), softmax(logits))
    nll = F.nll_loss(F.log_softmax(logits, dim=0).unsqueeze(0), targets)
    ce = nn.CrossEntropyLoss()(logits.unsqueeze(0), targets)
    return ThreeWays(float(by_hand), float(nll), float(ce))


def _batch(logits: Numbers, targets: int | Numbers) -> tuple[torch.Tensor, torch.Tensor]:
    """(C,) logits and an int class, or (B, C) logits and (B,) classes -> (B, C), (B,)."""
    logits = _as_tensor(logits)
    if logits.dim() == 1:
        logits = logits.unsqueeze(0)
    targets = torch.as_tensor(targets, dtype=torch.long).reshape(-1)
    return logits, targets


def double_softmax_loss(logits: Numbers, true_class: int | Numbers) -> torch.Tensor:
    """The classic bug: softmax first, then nn.CrossEntropyLoss, which applies softmax again.

    logits (C,) with an int class, or (B, C) with (B,) classes. nn.CrossEntropyLoss treats
    the probabilities (numbers in 0..1) as if they were logits, so the loss is computed on
    a softmax of a softmax. That is nearly uniform, so the loss is wrong: it can never reach
    0 and barely changes when the prediction gets better or worse.
    """
    logits, targets = _batch(logits, true_class)
    probabilities = F.softmax(logits, dim=1)  # (B, C): the bug
    return nn.CrossEntropyLoss()(probabilities, targets)


def correct_loss(logits: Numbers, true_class: int | Numbers) -> torch.Tensor:
    """nn.CrossEntropyLoss used the right way, on raw logits. Same shapes as above."""
    logits, targets = _batch(logits, true_class)
    return nn.CrossEntropyLoss()(logits, targets)


def double_softmax_range(num_classes: int) -> tuple[float, float]:
    """The smallest and largest loss the double-softmax bug can give with C classes.

    The probabilities lie in 0..1, so their softmax is at best e / (e + C - 1) (one class
    certain) and at worst 1 / (e + C - 1). For 10 classes the buggy loss is stuck between
    1.46 and 2.46, whatever the network predicts; the real loss goes from 0 to infinity.
    """
    e = math.e
    return math.log(1 + (num_classes - 1) / e), math.log(e + num_classes - 1)
