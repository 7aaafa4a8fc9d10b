"""The Draw tab walks the lesson on the student's own drawing: its loss for the digit they
meant, why the network answered what it did, and what the hidden layer did with it.

Plain functions from a `Prediction` (and the model) to Markdown or HTML; the pictures are
small inline PNGs and SVGs, cheap enough for every stroke of a class.
"""

import base64
import html
from io import BytesIO

import gradio as gr
import numpy as np
import torch
from PIL import Image
from torch import nn

from mnist_demo import explain, pictures
from mnist_demo.constants import CLASS_NAMES, EVAL_SIZE, MNIST_MEAN, MNIST_STD
from mnist_demo.losses import EPSILON, log_softmax_exact, three_ways_from_logits
from mnist_demo.predict import Prediction, shipped_model, shipped_test_accuracy
from mnist_demo.preprocess import image_to_tensor
from mnist_demo.ui.palette import swatch
from mnist_demo.ui.tables import code, html_table, loss_text, named_code, probability_text

MAP_SCALE = 6  # 28x28 maps shown 168x168, like the network's input
GRID_SCALE = 12  # one hidden unit: a 12x12 cell
BLANK = (0 - MNIST_MEAN) / MNIST_STD  # a blank pixel after normalisation: -0.42

CHOOSE_DIGIT = (
    "**Which digit did you mean?** Choose it below: you will see this drawing's "
    "cross-entropy, and you can teach the network your answer."
)
NOTHING_DRAWN = "Draw a digit first."
BACKGROUND_NOTE = (
    f"The empty background pushes too: normalisation turns a blank pixel into "
    f"(0 − {MNIST_MEAN}) / {MNIST_STD} = {BLANK:.2f}, not 0, so every weight multiplies it."
)


def meant_digit(value) -> int | None:
    """The digit the student meant, from the control (or an API caller): None or 0-9."""
    if value is None or value == "":
        return None
    try:
        digit = int(value)
    except (TypeError, ValueError):
        digit = -1
    if str(digit) != str(value).strip() or not 0 <= digit < len(CLASS_NAMES):
        raise gr.Error(f"The digit you meant must be one of 0-9, not {str(value)[:20]!r}.")
    return digit


def draw_model(session) -> nn.Module:
    """The model that answers this student's drawings: their own, or the shipped one."""
    return getattr(session, "draw_model", None) or shipped_model()


def model_line(session) -> str:
    """Which model is answering, in words."""
    name = getattr(session, "draw_model_name", None)
    if getattr(session, "draw_model", None) is None or name is None:
        accuracy = shipped_test_accuracy()
        score = f" ({accuracy:.2%} on the 10,000 MNIST test images)" if accuracy else ""
        name = f"the shipped model{score}"
    return f"**Answering:** {name}."


def model_input(prediction: Prediction) -> torch.Tensor:
    """The normalised (1, 1, 28, 28) input the network saw (kept with the prediction)."""
    if prediction.input is None:
        return image_to_tensor(prediction.image)
    return prediction.input


def inline_png(pixels: np.ndarray, scale: int, alt: str, compress_level: int = 0) -> str:
    """An (H, W) or (H, W, 3) uint8 picture as an <img>, shown `scale` times larger.

    Uncompressed by default: a 28x28 picture is 2 KB either way, and twice as quick.
    """
    buffer = BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=compress_level)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    height, width = pixels.shape[:2]
    return (
        f'<img src="data:image/png;base64,{data}" width="{width * scale}" '
        f'height="{height * scale}" alt="{html.escape(alt)}" '
        f'style="image-rendering: pixelated">'
    )


def meant_markdown(prediction: Prediction | None, meant: int | None) -> str:
    """This drawing's cross-entropy for the digit the student meant, written out."""
    if prediction is None:
        return NOTHING_DRAWN
    if meant is None:
        return CHOOSE_DIGIT
    log_p = float(log_softmax_exact(prediction.logits)[meant])  # exact even for tiny p
    ways = three_ways_from_logits(prediction.logits, meant)
    rows = [
        [named_code("by hand", f"-sum(y * log(y_hat + {EPSILON:g}))"), loss_text(ways.by_hand)],
        [code(f"F.nll_loss(F.log_softmax(logits), {meant})"), loss_text(ways.nll_loss)],
        [code(f"nn.CrossEntropyLoss()(logits, {meant})"), loss_text(ways.cross_entropy_loss)],
    ]
    return (
        f"### You meant {meant}: the loss is {loss_text(-log_p)}\n"
        f"`-log(softmax(logits)[{meant}]) = -log({probability_text(log_p)}) = "
        f"{loss_text(-log_p)}`\n\n" + html_table(["the lesson's way", "loss"], rows)
    )


def curve_html(prediction: Prediction | None, meant: int | None) -> str:
    """The -log(p) curve of the Cross-entropy tab, with this drawing's point on it."""
    if prediction is None or meant is None:
        return pictures.loss_curve_svg(None, None)
    loss = -float(prediction.log_probabilities[meant])
    return pictures.loss_curve_svg(float(prediction.probabilities[meant]), loss)


def why_html(prediction: Prediction | None, model: nn.Module, meant: int | None) -> str:
    """Each pixel's part in the top digit's logit (and the meant digit's), as maps."""
    if prediction is None:
        return f"<p>{NOTHING_DRAWN}</p>"
    x = model_input(prediction)
    digits = [prediction.digit] + ([meant] if meant not in (None, prediction.digit) else [])
    parts = {digit: explain.logit_parts(model, x, digit) for digit in digits}
    limit = max(float(pixels.abs().max()) for pixels, _ in parts.values()) or 1.0
    figures = "".join(
        _logit_map(digit, pixels, bias, limit, "top guess" if digit == prediction.digit else "")
        for digit, (pixels, bias) in parts.items()
    )
    legend = (  # the colour scale, drawn by the browser
        f'<span style="display:inline-block;width:160px;height:12px;background:linear-gradient('
        f'to right,{pictures.AWAY_COLOR},white,{pictures.TOWARDS_COLOR})"></span>'
    )
    return (
        f'<div class="why-maps" style="display:flex;flex-wrap:wrap;gap:1rem">{figures}</div>'
        f'<p style="margin:0.4rem 0">{legend}<br>'
        f"{swatch(pictures.AWAY_COLOR, 'pushes away from the digit')} (−{limit:.2f}) · "
        f"white: no part · {swatch(pictures.TOWARDS_COLOR, 'pushes towards it')} (+{limit:.2f})"
        f"</p><p>{BACKGROUND_NOTE}</p>"
    )


def _logit_map(digit: int, pixels: torch.Tensor, bias: float, limit: float, note: str) -> str:
    total = float(pixels.sum())
    title = f"logit of {digit}" + (f" ({note})" if note else "")
    picture = inline_png(pictures.signed_map(pixels, limit), MAP_SCALE, f"pixel parts of {title}")
    return (
        f'<figure style="margin:0">{picture}<figcaption><b>{title}</b><br>'
        f"sum of pixel parts + bias part = logit:<br>"
        f"<code>{total:.2f} + ({bias:.2f}) = {total + bias:.2f}</code></figcaption></figure>"
    )


def inside_html(prediction: Prediction | None, model: nn.Module) -> str:
    """The hidden layer's ReLU outputs for this drawing, and how many are exactly 0."""
    if prediction is None:
        return f"<p>{NOTHING_DRAWN}</p>"
    hidden = explain.hidden_activations(model, model_input(prediction))  # (H,)
    zeros = int((hidden == 0).sum())
    grid = inline_png(pictures.activation_grid(hidden), GRID_SCALE, "hidden ReLU outputs")
    return (
        f"<p><b>{len(hidden)} hidden ReLU outputs</b> for your drawing (black = 0, white = "
        f"the largest, {float(hidden.max()):.2f}): <b>{zeros} of {len(hidden)}</b> are exactly "
        f"0, cut off by ReLU.</p>{grid}"
    )


def templates_html(model: nn.Module) -> str:
    """What each hidden unit looks for: its 784 weights of fc1 as a 28x28 picture."""
    tiles = pictures.template_tiles(explain.first_layer_templates(model))
    picture = inline_png(tiles, 2, "first-layer weights of every hidden unit", compress_level=6)
    return (
        f"<p>Each tile is one hidden unit's 784 weights in <code>fc1</code>, as a 28x28 "
        f'picture: <span style="color:{pictures.TOWARDS_COLOR}">■</span> ink here raises the '
        f'unit, <span style="color:{pictures.AWAY_COLOR}">■</span> ink here lowers it.</p>'
        f"{picture}"
    )


def accuracy_text(accuracy: float | None) -> str:
    if accuracy is None:
        return "needs MNIST"
    return f"{accuracy:.1%} on {EVAL_SIZE:,} held-out test digits"
