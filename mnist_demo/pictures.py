"""Pictures of what the network does with one drawing, for the Draw tab: each pixel's part
in a logit (a signed map), the hidden layer's outputs, the first layer's weights as 28x28
templates, and the -log(p) curve as a small SVG.

They answer every stroke of every student, so they build pixels with numpy (the UI turns
them into small inline PNGs, shown enlarged with square pixels) and the curve as an SVG
string: tens of microseconds each, where a matplotlib figure costs milliseconds. (The
template mosaic takes a few ms, but it changes only with the model.)
"""

import functools
import math

import numpy as np
import torch

from mnist_demo.constants import IMAGE_SIZE
from mnist_demo.plots import (
    _CURVE_LOSS,
    _CURVE_P,
    CURRENT_LABEL_GID,
    CURRENT_POINT_GID,
    CURVE_LOSS_MAX,
)

# A diverging, colour-blind-safe pair (the ends of ColorBrewer's PuOr), white in between.
TOWARDS_COLOR = "#e66101"  # orange: this pixel pushes the logit up, towards the digit
AWAY_COLOR = "#5e3c99"  # purple: this pixel pushes it down, away from the digit
GRID_PAD_COLOR = "#6f8fb3"  # blue-grey: a grid cell with no unit (not a grey level)
TILE_GAP_COLOR = "#808080"  # mid grey between tiles, unlike any tile's white

# The SVG curve's margins in pixels (left, right, top, bottom): room for ticks and titles.
CURVE_SVG_MARGINS = (46, 12, 12, 38)
_CURVE_SVG_LINE = "#4c78a8"  # the curve, in the first run colour
_CURVE_SVG_POINT = "#f58518"  # the current point and its guides


def _rgb(hex_color: str) -> np.ndarray:
    """'#rrggbb' -> (3,) float array of 0..255."""
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


_WHITE = np.full(3, 255.0)
_TOWARDS_RGB = _rgb(TOWARDS_COLOR)
_AWAY_RGB = _rgb(AWAY_COLOR)
_GRID_PAD_RGB = _rgb(GRID_PAD_COLOR)
_TILE_GAP_RGB = _rgb(TILE_GAP_COLOR)


def _as_array(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """A tensor (even one that requires grad) or array as a float64 numpy array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def _diverging(scaled: np.ndarray) -> np.ndarray:
    """Values in [-1, 1], any shape (...) -> (..., 3) uint8 colours.

    White at 0, fading linearly to TOWARDS_COLOR at +1 and to AWAY_COLOR at -1: a value and
    its negative get the same strength of the two colours.
    """
    strength = np.abs(scaled)[..., None]  # (..., 1)
    ends = np.where(scaled[..., None] >= 0, _TOWARDS_RGB, _AWAY_RGB)  # (..., 3)
    return np.rint(_WHITE - strength * (_WHITE - ends)).astype(np.uint8)


def signed_map(values: torch.Tensor | np.ndarray, limit: float | None = None) -> np.ndarray:
    """Signed contributions, (28, 28) (or any (H, W)), as an (H, W, 3) uint8 RGB picture.

    Positive values are orange (they push towards the digit), negative ones purple (they
    push away), 0 is white. The scale is symmetric, -limit .. +limit, so equal pushes either
    way look equally strong; `limit` defaults to the largest |value|, and values beyond it
    get the full colour. An all-zero map is all white.
    """
    values = _as_array(values)  # (H, W)
    if limit is None:
        limit = float(np.abs(values).max(initial=0.0))
    if not limit > 0:  # an all-zero map (or limit 0): nothing pushes, all white
        limit = 1.0
    return _diverging(np.clip(values / limit, -1.0, 1.0))  # (H, W, 3)


def legend_bar(limit: float, width: int = 161, height: int = 12) -> np.ndarray:
    """The colour scale of `signed_map`, (height, width, 3) uint8 RGB.

    From -limit (away, left end) through 0 (white, the middle column when `width` is odd)
    to +limit (towards, right end); the UI writes the numbers beside it.
    """
    row = signed_map(np.linspace(-limit, limit, width)[None, :], limit)  # (1, width, 3)
    return np.repeat(row, height, axis=0)  # (height, width, 3)


def activation_grid(activations: torch.Tensor | np.ndarray, columns: int = 16) -> np.ndarray:
    """The hidden layer's ReLU outputs, (hidden,) >= 0, as a grid of cells, one pixel each.

    Grey level by value: 0 is black, the largest output white (all black if all are 0).
    128 units make 8 rows x 16 columns: (8, 16, 3) uint8 RGB. Cells past the last unit are
    GRID_PAD_COLOR, so they are not mistaken for units at 0.
    """
    values = np.clip(_as_array(activations).reshape(-1), 0.0, None)  # (hidden,)
    count = values.size
    columns = max(1, min(columns, count))
    rows = -(-count // columns)  # ceiling division
    largest = values.max(initial=0.0)
    grey = np.rint(values / largest * 255) if largest > 0 else np.zeros(count)  # (hidden,)
    cells = np.empty((rows * columns, 3), dtype=np.uint8)
    cells[:] = _GRID_PAD_RGB
    cells[:count] = grey[:, None]
    return cells.reshape(rows, columns, 3)


def template_tiles(
    templates: torch.Tensor | np.ndarray, columns: int = 16, gap: int = 1
) -> np.ndarray:
    """The first layer's weights, (hidden, 28, 28) or (hidden, 784), as one RGB mosaic.

    Each hidden unit's weights are one 28x28 tile, coloured like `signed_map` with its own
    symmetric scale (each tile's largest |weight| is full colour), so every unit's pattern
    shows whatever its size. Tiles sit `gap` pixels apart on TILE_GAP_COLOR; 128 units make
    8 rows x 16 columns: (8*28 + 7, 16*28 + 15, 3) = (231, 463, 3) uint8.
    """
    count = len(templates)
    weights = _as_array(templates).reshape(count, IMAGE_SIZE, IMAGE_SIZE)  # (hidden, 28, 28)
    limits = np.abs(weights).max(axis=(1, 2), keepdims=True)  # (hidden, 1, 1)
    tiles = _diverging(weights / np.where(limits > 0, limits, 1.0))  # (hidden, 28, 28, 3)

    columns = max(1, min(columns, count))
    rows = -(-count // columns)  # ceiling division
    step = IMAGE_SIZE + gap
    mosaic = np.empty((rows, step, columns, step, 3), dtype=np.uint8)
    mosaic[:] = _TILE_GAP_RGB  # the gaps, and the empty places after the last tile
    placed = np.empty((rows * columns, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    placed[:] = _TILE_GAP_RGB
    placed[:count] = tiles
    # (rows, columns, 28, 28, 3) -> (rows, 28, columns, 28, 3): tile pixels in picture order
    grid = placed.reshape(rows, columns, IMAGE_SIZE, IMAGE_SIZE, 3).transpose(0, 2, 1, 3, 4)
    mosaic[:, :IMAGE_SIZE, :, :IMAGE_SIZE] = grid
    picture = mosaic.reshape(rows * step, columns * step, 3)
    return np.ascontiguousarray(picture[: rows * step - gap, : columns * step - gap])


def _svg_xy(p: float, loss: float, width: int, height: int) -> tuple[float, float]:
    """(p, loss) in data units -> (x, y) in SVG pixels; y grows downwards.

    p from 0 to 1 spans the plot's width, loss from 0 to CURVE_LOSS_MAX its height; a larger
    loss is drawn at the top edge.
    """
    left, right, top, bottom = CURVE_SVG_MARGINS
    x = left + p * (width - left - right)
    y = (height - bottom) - min(loss, CURVE_LOSS_MAX) / CURVE_LOSS_MAX * (height - top - bottom)
    return x, y


@functools.cache
def _static_curve_svg(width: int, height: int) -> str:
    """The part of the SVG chart that never changes: grid, axes, ticks, titles, the curve."""
    left, right, top, bottom = CURVE_SVG_MARGINS
    x_end, y_end = width - right, height - bottom  # the plot's right and bottom edges
    grid, labels = [], []
    for loss in range(int(CURVE_LOSS_MAX) + 1):  # 0 .. 7
        _, y = _svg_xy(0, loss, width, height)
        grid.append(f'<line x1="{left}" y1="{y:.1f}" x2="{x_end}" y2="{y:.1f}"/>')
        labels.append(
            f'<text x="{left - 5}" y="{y:.1f}" dy="0.35em" text-anchor="end">{loss}</text>'
        )
    for p in (0, 0.5, 1):
        x, _ = _svg_xy(p, 0, width, height)
        grid.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y_end}"/>')
        labels.append(f'<text x="{x:.1f}" y="{y_end + 14}" text-anchor="middle">{p:g}</text>')
    points = " ".join(
        "{:.1f},{:.1f}".format(*_svg_xy(p, loss, width, height))
        for p, loss in zip(_CURVE_P, _CURVE_LOSS, strict=True)
    )
    middle_x, middle_y = (left + x_end) / 2, (top + y_end) / 2
    return (
        f'<g stroke="currentColor" stroke-opacity="0.15">{"".join(grid)}</g>'
        f'<polyline points="{left},{top} {left},{y_end} {x_end},{y_end}" fill="none" '
        f'stroke="currentColor"/>'
        f'<polyline points="{points}" fill="none" stroke="{_CURVE_SVG_LINE}" stroke-width="2"/>'
        f"{''.join(labels)}"
        f'<text x="{middle_x:.1f}" y="{height - 6}" text-anchor="middle">'
        f"p = softmax(logits)[chosen digit]</text>"
        f'<text transform="translate(12 {middle_y:.1f}) rotate(-90)" text-anchor="middle">'
        f"loss = -log(p)</text>"
    )


def loss_curve_svg(
    p_true: float | None, loss: float | None = None, width: int = 320, height: int = 200
) -> str:
    """The cross-entropy curve -log(p) as a small self-contained inline SVG string.

    The point (p_true, loss) is marked with a dot, dashed guides to both axes and a label
    "p = 0.0312, loss = 3.47" (p to 3 significant digits, as the Draw tab writes it). `loss`
    defaults to -log(p_true); a loss above CURVE_LOSS_MAX (p near 0) is drawn at the top edge
    and labelled "above the chart". With `p_true=None` only the curve is drawn. Text and
    axes use the page's text colour (currentColor), so the chart suits light and dark themes.
    Only numbers are written into the markup, so nothing needs escaping.
    """
    title = "Cross-entropy of one example: loss = -log(p) for p from 0 to 1"
    marks = ""
    if p_true is not None:
        p_true = float(p_true)
        if not 0.0 <= p_true <= 1.0:
            raise ValueError(f"p must be a probability between 0 and 1, got {p_true}")
        if loss is None:
            loss = -math.log(p_true) if p_true > 0 else math.inf
        loss = float(loss)
        off_chart = not loss <= CURVE_LOSS_MAX  # also true for inf
        loss_text = "∞" if math.isinf(loss) else f"{round(loss, 2) + 0.0:.2f}"  # no -0.00
        label = f"p = {p_true:.3g}, loss = {loss_text}"
        title += f"; this drawing: {label}" + (", above the chart" if off_chart else "")
        marks = _current_point_svg(p_true, loss, label, off_chart, width, height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'font-family="sans-serif" font-size="11" fill="currentColor">'
        f"{_static_curve_svg(width, height)}{marks}</svg>"
    )


def _current_point_svg(
    p_true: float, loss: float, label: str, off_chart: bool, width: int, height: int
) -> str:
    """The dot at (p, loss), dashed guides to both axes, and the label in the top-right
    corner, which is always empty: -log(p) is small where p is large."""
    left, right, top, _ = CURVE_SVG_MARGINS
    x, y = _svg_xy(p_true, loss, width, height)
    _, y_zero = _svg_xy(p_true, 0.0, width, height)
    label_x = width - right - 4
    note = f'<tspan x="{label_x}" dy="1.2em">(above the chart)</tspan>' if off_chart else ""
    return (
        f'<polyline points="{x:.1f},{y_zero:.1f} {x:.1f},{y:.1f} {left},{y:.1f}" '
        f'fill="none" stroke="{_CURVE_SVG_POINT}" stroke-dasharray="4 3"/>'
        f'<circle class="{CURRENT_POINT_GID}" cx="{x:.1f}" cy="{y:.1f}" r="5" '
        f'fill="{_CURVE_SVG_POINT}" stroke="black"/>'
        f'<text class="{CURRENT_LABEL_GID}" x="{label_x}" y="{top + 12}" '
        f'text-anchor="end" font-weight="bold">{label}{note}</text>'
    )
