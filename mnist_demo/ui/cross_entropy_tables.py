"""The Cross-entropy tab's numbers as text: the loss line, and its tables (maths: losses.py).

Every table fits a 390 px phone: one row per class (the ten digits go down the page, not
across it), numbers that never break inside their cell, code that may wrap. The formats
of the numbers are those of ui/tables.py, shared with the Draw tab.
"""

import html
import math

import torch
from torch import Tensor

from mnist_demo import losses
from mnist_demo.constants import CLASS_NAMES
from mnist_demo.ui.tables import (
    TOP_GUESS_MARK,
    TRUE_CLASS_MARK,
    float32_text,
    html_table,
    log_probability_text,
    logit_text,
    loss_text,
    named_code,
    probability_text,
    unbroken,
)

THREE_WAYS = (  # (the way, its code), in the lesson's order
    (
        "1. by hand from probabilities (the lesson's function)",
        "-torch.sum(y * torch.log(y_hat + 1e-15))",
    ),
    ("2. negative log likelihood of log-probabilities", "F.nll_loss(torch.log(y_hat), target)"),
    (
        "3. nn.CrossEntropyLoss on logits whose softmax is ŷ",
        "nn.CrossEntropyLoss()(torch.log(y_hat), target)",
    ),
)
RIGHT_CODE = "nn.CrossEntropyLoss()(logits, target)"
BUG_CODE = "nn.CrossEntropyLoss()(F.softmax(logits, dim=1), target)"
BUG_LABEL = "apply softmax before nn.CrossEntropyLoss (a common bug)"
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
ROUNDED_NOTE = (
    "*Why not {exact:.4f}, as in From logits?* These sliders start at the softmax of the "
    "lesson's ten logits **rounded to 2 decimals** (the sliders' step), and the rounding moves "
    "the loss. From logits uses the exact probabilities: {exact:.4f} for the same true class."
)
INTRO_MARKDOWN = r"""
## Cross-entropy: how wrong is a prediction?
Cross-entropy compares the label $p$ (the truth) with the prediction $q$ (the network's
probabilities), using the natural log:

$$H(p, q) = -\sum_i p(i)\,\log q(i)$$

The label $y$ is one-hot (a 1 for the true class, 0 elsewhere), so every term but one is
zero and the loss is simply $-\log \hat{y}_{\text{true}}$: perfect ($\hat{y}_{\text{true}} = 1$)
costs $\log 1 = 0$, and the cost grows without bound as $\hat{y}_{\text{true}} \to 0$.
"""
NLL_CODE = "`F.nll_loss(F.log_softmax(logits, dim=1), labels)`"
FORMULAS_MARKDOWN = (
    "softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ); log_softmax(x)ᵢ = xᵢ - log Σⱼ exp(xⱼ), the "
    "numerically stable log of softmax. Adding the same number to every logit changes no "
    "probability and no loss: softmax depends only on the logits' differences (try *Add 5 to "
    "every logit*). These *logits* are the network's raw scores, not the logit function "
    "ln(p / (1 − p)) of statistics."
)
EQUAL_LOGITS_NOTE = (
    "*Every logit equal:* softmax gives each digit 1/10 and the loss is ln 10 = 2.3026, the "
    "loss of a guess. Every training run starts near there (the Train tab's loss curves)."
)
LOG_SUM_EXP_WHY = (
    "log_softmax does not overflow: it subtracts the largest logit first, "
    "log_softmax(z) = (z − max z) − log Σ exp(z − max z), so every exp is at most 1 "
    "(the *log-sum-exp* trick)."
)


def probability_loss_text(
    name: str, ratio: tuple[float, float], p_true: float, loss: float, notes: list[str]
) -> str:
    """The loss, large, under its formula: ŷ[true] is the true class's slider ÷ their sum.
    Then why it is finite at p = 0, and the notes (the lesson's, or what was clamped)."""
    slider, total = ratio
    lines = [
        f"Cross-entropy = -log(ŷ[{name}]) = {unbroken(f'-log({slider:.2f} ÷ {total:.2f})')} = "
        f"{unbroken(f'-log({p_true:.4f})')} =",
        f"# {loss_text(loss)}",
    ]
    if p_true == 0:
        lines.append(
            f"ŷ[{name}] = 0: the true loss -log(0) is **infinite**. The lesson's function adds "
            f"ε = {losses.EPSILON:g} inside the log, which caps it at -log(1e-15) = "
            f"{loss_text(loss)}."
        )
    lines += notes
    return "\n\n".join(lines)


def vector_table(names: list[str], values: list[float], y_hat: Tensor | None, y: Tensor) -> str:
    """One row per class: its slider, ŷ = slider ÷ sum (None: all sliders 0), one-hot y."""
    total = sum(values)
    how = "Each slider is normally **divided by their sum**; here the sum is 0."
    if y_hat is not None:
        how = (
            "The sliders need not add up to 1: each is **divided by their sum** "
            f"({total:.2f}), so the predicted probabilities ŷ do."
        )
    rows = []
    for i, (name, value, label) in enumerate(zip(names, values, y.int().tolist(), strict=True)):
        p = "–" if y_hat is None else f"{float(y_hat[i]):.4f}"
        rows.append([html.escape(name), f"{value:.2f}", p, f"<b>{label}</b>" if label else "0"])
    rows.append(["<b>sum</b>", f"{total:.2f}", "–" if y_hat is None else "1.0000", "1"])
    header = ["class", "slider", "ŷ = slider ÷ sum", "y, one-hot"]
    return how + "\n\n" + html_table(header, rows)


def three_ways_table(ways: losses.ThreeWays) -> str:
    """The lesson's three ways to the loss, and whether they agree."""
    rows = [
        [named_code(name, text), loss_text(value)]
        for (name, text), value in zip(THREE_WAYS, ways, strict=True)
    ]
    verdict = "All three give the same number (to the 4 decimals shown)."
    if ways.nll_loss == float("inf"):
        verdict = (
            "Ways 2 and 3 give ∞: -log(0) really is infinite. Way 1 adds ε = 1e-15 inside "
            f"the log, so it gives -log(1e-15) = {loss_text(ways.by_hand)} instead: a large "
            "but finite number, so a computation never breaks on inf or NaN."
        )
    return html_table(["way and its code", "loss"], rows) + "\n\n" + verdict


def bug_table(right: float, wrong: float) -> str:
    """The right loss and the buggy one, with their code."""
    rows = [
        [named_code("right", RIGHT_CODE), f"<b>{loss_text(right)}</b>"],
        [named_code("with the bug", BUG_CODE), f"<b>{loss_text(wrong)}</b>"],
    ]
    return html_table(["code", "loss"], rows)


def digit_cell(digit: int, true_class: int | None, top: int) -> str:
    """A digit, and what it is: the true class, the network's top guess, or both."""
    marks = [TRUE_CLASS_MARK] * (digit == true_class) + [TOP_GUESS_MARK] * (digit == top)
    name = f"<b>{digit}</b>" if marks else str(digit)
    return " ".join([name, *marks])


def logits_table(logits: Tensor, true_class: int) -> str:
    """One row per digit: logit, softmax, log_softmax; their sums; log Σ exp(logits)."""
    log_p = losses.log_softmax_exact(logits)  # (10,) float64, exact near 0
    top = int(logits.argmax())
    rows = [
        [
            digit_cell(d, true_class, top),
            logit_text(z),
            probability_text(lp),
            log_probability_text(lp),
        ]
        for d, (z, lp) in enumerate(zip(logits.tolist(), log_p.tolist(), strict=True))
    ]
    rows.append(
        [
            "<b>sum</b>",
            "",
            f"<b>{float(log_p.exp().sum()):.4f}</b>",
            f"<b>{float(log_p.sum()):.4f}</b>",
        ]
    )
    lse = float(torch.logsumexp(logits.double(), dim=0))
    table = html_table(["digit", "logit", "softmax", "log_softmax"], rows)
    return (
        f"{table}\n\nlog Σⱼ exp(logitⱼ) = {lse:.4f}: each log_softmax is its logit minus "
        f"{lse:.4f}, and each softmax is exp(log_softmax)."
    )


def stability_markdown(logits: Tensor, true_class: int, stable_loss: float) -> str:
    """The stable loss beside the naive formula's, in float32, and why they differ."""
    naive = losses.naive_log_softmax(logits)  # (10,) float32, inf/nan for big logits
    t = CLASS_NAMES[true_class]
    rows = [
        [
            named_code(
                "log_softmax (what nn.CrossEntropyLoss uses)", f"-F.log_softmax(z, dim=0)[{t}]"
            ),
            loss_text(stable_loss),
        ],
        [
            named_code(
                "the formula as written, float32",
                f"-torch.log(torch.exp(z) / torch.exp(z).sum())[{t}]",
            ),
            float32_text(-float(naive[true_class])),
        ],
    ]
    table = html_table(["computed with", "loss"], rows)
    if torch.isfinite(naive).all():
        said = (
            f"No logit is above {losses.FLOAT32_EXP_LIMIT:.2f}, where exp overflows float32 "
            "(its largest number is 3.4e38), so the formula as written still works here. "
            "Try **Big logits**."
        )
    else:
        kinds: dict[str, list[str]] = {}  # "nan" -> the digits where the formula gives nan
        for digit, value in enumerate(naive.tolist()):
            if not math.isfinite(value):
                kinds.setdefault(float32_text(value), []).append(str(digit))
        broken = "; ".join(f"{kind} for {', '.join(digits)}" for kind, digits in kinds.items())
        said = (
            f"As written, exp(z) is inf for any z above {losses.FLOAT32_EXP_LIMIT:.2f} (float32 "
            "stops at 3.4e38), then inf / inf = nan and x / inf = 0, whose log is -inf. The "
            f"formula gives {broken}."
        )
    return f"**Why log_softmax? The formula as written, in float32**\n\n{table}\n\n{said} {LOG_SUM_EXP_WHY}"


def softmax_bug_markdown(apply_bug: bool, logits: Tensor, true_class: int, where: str = "") -> str:
    """The right and the buggy loss for these logits (C,) and why they differ; or a hint."""
    if not apply_bug:
        return BUG_HINT
    wrong = float(losses.double_softmax_loss(logits, true_class))
    right = float(losses.correct_loss(logits, true_class))
    low, high = losses.double_softmax_range(len(logits))
    explanation = BUG_EXPLANATION.format(n=len(logits), low=low, high=high)
    parts = [where, bug_table(right, wrong), explanation]
    return "\n\n".join(part for part in parts if part)
