"""Figures and plot data for the app; no gradio, no pyplot.

Every figure is a fresh `matplotlib.figure.Figure` (never pyplot: pyplot keeps global state,
and the app's handlers run in threads). Figures are kept cheap because some are redrawn
while a student drags a slider: a small canvas, fixed margins (no tight_layout), and any
data that never changes computed once when the module is imported.

Contents:
- Cross-entropy: `cross_entropy_curve`, the -log(p) curve with the current point marked.
- Training: `smooth` and `thin` for the loss curves (drawn in run_charts.py), and the
  confusion matrix as a coloured table (`confusion_styler`, `confusion_html`).
- The Draw tab's per-stroke pictures are in pictures.py.
"""

import functools
import math

import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mnist_demo.constants import CLASS_NAMES

# ---------------------------------------------------------------------------------------
# Cross-entropy: the -log(p) curve
# ---------------------------------------------------------------------------------------

# The curve -log(p) for p in (0, 1], computed once. It rises steeply near p = 0, so the
# points are packed densely there (log-spaced) and spread evenly further right.
_CURVE_P = np.concatenate([np.geomspace(1e-3, 0.05, 60, endpoint=False), np.linspace(0.05, 1, 60)])
_CURVE_LOSS = -np.log(_CURVE_P)

# The loss axis stops here; a larger loss (p close to 0) is drawn at the top edge with an
# arrow, because -log(p) grows without bound.
CURVE_LOSS_MAX = 7.0
CURVE_FIGSIZE = (5.0, 3.2)  # inches at 100 dpi: a 500 x 320 pixel image
CURVE_DPI = 100
_CURVE_AXES_RECT = (0.11, 0.15, 0.86, 0.75)  # left, bottom, width, height (figure fractions)

# Artist ids, so tests (and readers) can find the parts of the figure.
CURRENT_POINT_GID = "current-point"
CURRENT_LABEL_GID = "current-label"


def cross_entropy_curve(p_true: float | None, loss: float | None = None) -> Figure:
    """The cross-entropy of one example, -log(p), against p = y_hat[true class].

    The current prediction is marked with a dot and labelled with its p and loss. The two
    ends are annotated: p = 1 is "perfect" (loss 0), p near 0 is "bad" (the loss grows
    without bound). `loss` defaults to -log(p_true); pass the value the app shows (the
    lesson's epsilon makes p = 0 cost 34.54 instead of infinity). With `p_true=None` only the
    curve is drawn (for example when there is no valid prediction to mark).

    This runs on every slider move, so it is built in two layers: the chart that never
    changes (curve, axes, ticks, notes) is drawn once and reused as a picture, and only the
    current point is drawn each time, on a transparent axes with the same limits on top.
    Drawing ticks and text is most of matplotlib's cost; this way it is paid once.
    """
    fig = Figure(figsize=CURVE_FIGSIZE, dpi=CURVE_DPI)
    background = fig.add_axes((0, 0, 1, 1))  # the whole figure
    background.imshow(_static_curve_image(), aspect="auto", interpolation="nearest")
    background.set_axis_off()

    ax = fig.add_axes(_CURVE_AXES_RECT)  # exactly over the pictured chart's axes
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, CURVE_LOSS_MAX)
    ax.set_axis_off()  # transparent: the picture underneath shows the axes
    if p_true is not None:
        _mark_current_point(ax, p_true, -math.log(p_true) if loss is None else loss)
    return fig


def _static_curve_figure() -> Figure:
    """The part of the chart that never changes: curve, axes, labels, "perfect" and "bad"."""
    fig = Figure(figsize=CURVE_FIGSIZE, dpi=CURVE_DPI)
    ax = fig.add_axes(_CURVE_AXES_RECT)
    ax.plot(_CURVE_P, _CURVE_LOSS, color="tab:blue", linewidth=2)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, CURVE_LOSS_MAX)
    ax.set_xlabel("p = predicted probability of the true class")
    ax.set_ylabel("loss = -log(p)")
    ax.set_title("Cross-entropy of one example", fontsize=11)
    ax.grid(alpha=0.3)
    ax.annotate(
        "perfect: p = 1, loss 0",
        xy=(1.0, 0.0),
        xytext=(0.62, 1.6),
        arrowprops={"arrowstyle": "->", "color": "tab:green"},
        color="tab:green",
    )
    ax.annotate(
        "bad: p → 0, loss → ∞",
        xy=(0.004, 6.2),
        xytext=(0.1, 6.2),
        va="center",
        arrowprops={"arrowstyle": "->", "color": "tab:red"},
        color="tab:red",
    )
    return fig


@functools.cache
def _static_curve_image() -> np.ndarray:
    """The static chart rendered once to pixels, (H, W, 4) RGBA uint8; read-only."""
    canvas = FigureCanvasAgg(_static_curve_figure())
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba()).copy()
    image.flags.writeable = False  # shared by every request: nobody may draw on it
    return image


def _mark_current_point(ax, p_true: float, loss: float) -> None:
    """A dot at (p, loss), dashed guides to both axes, and the numbers in the top-right corner.

    The top-right corner is always empty (-log(p) is small where p is large), so the label
    never covers the curve. A loss above the axis (p near 0) is pinned to the top edge.
    """
    off_chart = not math.isfinite(loss) or loss > CURVE_LOSS_MAX
    y = CURVE_LOSS_MAX if off_chart else loss
    ax.plot([p_true, p_true, 0], [0, y, y], color="tab:orange", linestyle="--", linewidth=1)
    ax.plot(
        [p_true],
        [y],
        marker="^" if off_chart else "o",
        markersize=10,
        color="tab:orange",
        markeredgecolor="black",
        clip_on=False,
        zorder=3,
        gid=CURRENT_POINT_GID,
    )
    if off_chart:
        loss_text = f"{loss:.2f} with ε\n(true loss ∞, off the chart)"
    else:
        loss_text = f"{round(loss, 4) + 0.0:.4f}"  # + 0.0 turns -0.0 into 0.0
    ax.text(
        0.97,
        0.95,
        f"now: p = {p_true:.4f}\nloss = {loss_text}",
        transform=ax.transAxes,
        ha="right",
        va="top",
        color="black",
        bbox={"boxstyle": "round", "facecolor": "moccasin", "edgecolor": "tab:orange"},
        gid=CURRENT_LABEL_GID,
    )


# ---------------------------------------------------------------------------------------
# Training: loss and accuracy curves, the confusion matrix
# ---------------------------------------------------------------------------------------

SMOOTHING = 0.9  # loss curve: exponential moving average, like TensorBoard's slider
MAX_PLOT_POINTS = 200  # per run and curve: enough for the eye, cheap to send

# Tableau 10: one fixed colour per run number, the same in every plot.
RUN_COLORS = (
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2",
    "#b279a2", "#eeca3b", "#ff9da6", "#9d755d", "#bab0ac",
)  # fmt: skip


def run_color(run_id: int) -> str:
    """The colour of run number `run_id` (1, 2, ...) in every plot."""
    return RUN_COLORS[(run_id - 1) % len(RUN_COLORS)]


def smooth(values: list[float], weight: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average, debiased so the curve starts at the first value."""
    smoothed = np.empty(len(values))
    average = 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        smoothed[i] = average / (1 - weight ** (i + 1))
    return smoothed


def thin(length: int, max_points: int = MAX_PLOT_POINTS) -> np.ndarray:
    """Indices of at most `max_points` evenly spread points, always with the last one."""
    if length <= max_points:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, max_points).round().astype(int))


def confusion_frame(confusion: torch.Tensor) -> pd.DataFrame:
    """The 10x10 counts as a table: one row per true digit, one column per predicted digit
    (headed by the digit alone, so that all ten fit beside the gallery)."""
    frame = pd.DataFrame(confusion.numpy(), columns=list(CLASS_NAMES))
    frame.insert(0, "true", CLASS_NAMES)
    return frame


def confusion_styler(confusion: torch.Tensor):
    """The table coloured: green on the diagonal (right), red elsewhere (mistakes).

    Each cell's strength is its share of its row (of all images of that true digit), so a
    digit the network often confuses shows up whatever the class sizes.
    """
    frame = confusion_frame(confusion)
    shares = (confusion / confusion.sum(dim=1, keepdim=True).clamp(min=1)).numpy()  # (10, 10)

    def colours(table: pd.DataFrame) -> pd.DataFrame:
        css = pd.DataFrame("", index=table.index, columns=table.columns)
        for row in range(len(CLASS_NAMES)):
            for column in range(len(CLASS_NAMES)):
                share = shares[row, column]
                if row == column:
                    css.iloc[row, column + 1] = (
                        f"background-color: rgba(84, 162, 75, {0.15 + 0.6 * share:.2f})"
                    )
                elif share > 0:
                    css.iloc[row, column + 1] = (
                        f"background-color: rgba(228, 87, 86, {min(0.9, 0.1 + 4 * share):.2f})"
                    )
        return css

    return frame.style.apply(colours, axis=None)


def confusion_html(confusion: torch.Tensor) -> str:
    """The coloured confusion matrix as an HTML table whose numbers stay whole on a phone
    (the page's CSS for `table.confusion` shrinks the type instead of cutting "973" to "9..")."""
    styler = confusion_styler(confusion).hide(axis="index")
    return styler.set_table_attributes(
        'class="confusion" aria-label="Confusion matrix: row = true digit, '
        'column = predicted digit"'
    ).to_html()


def enlarge(image28: np.ndarray, scale: int) -> np.ndarray:
    """A 28x28 image as a bigger uint8 picture with square pixels (white ink on black)."""
    pixels = (np.clip(image28, 0.0, 1.0) * 255).astype(np.uint8)
    return np.kron(pixels, np.ones((scale, scale), dtype=np.uint8))
