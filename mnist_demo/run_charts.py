"""The Train tab's live charts as inline SVG: training and test loss, and test accuracy.

Drawn here, not by a plotting widget, so that a class can read them from the back of the
room: large text, each run's number at the end of its line, solid lines for the training
loss and dashed ones for the test loss, the starting loss ln 10 = 2.30 marked "guessing",
step ticks that never run into each other, and a run that blows up drawn along the top
edge instead of stretching the axis until every other curve is flat. Plain strings of
numbers: nothing a student typed is written into the markup.

    svg = loss_chart([RunCurves("#1 Adam lr 0.001", "#4c78a8", losses, steps, ...)])
"""

import html
import math
from dataclasses import dataclass, field

from mnist_demo.plots import smooth, thin

GUESSING_LOSS = math.log(10)  # a network that knows nothing: softmax gives every digit 0.1
LOSS_TOP = 3.0  # the loss axis stops here (every run starts near 2.30)
WIDTH, HEIGHT = 640, 280  # the SVG's own units; it is scaled to the column's width
LEFT, RIGHT, TOP, BOTTOM = 58, 40, 12, 46  # margins: tick labels left, run numbers right
FONT_SIZE = 15


@dataclass(frozen=True)
class RunCurves:
    """One run as the charts draw it."""

    label: str  # "#1 Adam lr 0.001"
    color: str
    losses: list[float]  # training loss of every step
    eval_steps: list[int] = field(default_factory=list)
    eval_losses: list[float] = field(default_factory=list)
    eval_accuracies: list[float] = field(default_factory=list)

    @property
    def number(self) -> str:
        return self.label.split(" ")[0]  # "#1"


def nice_step(span: float, ticks: int = 5) -> float:
    """A tick spacing of 1, 2 or 5 times a power of ten giving about `ticks` ticks."""
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def step_label(step: float) -> str:
    """950 -> '950', 1000 -> '1k', 1500 -> '1.5k': short enough never to touch."""
    return f"{step / 1000:g}k" if step >= 1000 else f"{step:g}"


def loss_chart(runs: list[RunCurves]) -> str:
    """Training loss (smoothed, solid) and test loss (dashed) of every run."""
    lines = []
    for run in runs:
        if run.losses:
            keep = thin(len(run.losses))
            smoothed = smooth(run.losses)
            lines.append((run, [(i + 1, smoothed[i]) for i in keep], False))
        if run.eval_steps:
            lines.append((run, list(zip(run.eval_steps, run.eval_losses, strict=True)), True))
    guide = (GUESSING_LOSS, "guessing: ln 10 = 2.30")
    return _chart(lines, runs, (0.0, LOSS_TOP), "loss (cross-entropy)", guide, "{:g}")


def accuracy_chart(runs: list[RunCurves]) -> str:
    """Accuracy on the held-out test images of every run."""
    lines = [
        (run, list(zip(run.eval_steps, run.eval_accuracies, strict=True)), False)
        for run in runs
        if run.eval_steps
    ]
    guide = (0.1, "guessing: 10%")
    return _chart(lines, runs, (0.0, 1.0), "test accuracy", guide, "{:.0%}")


def _chart(lines, runs, y_range, y_title, guide, y_format) -> str:
    x_max = max((x for _, points, _ in lines for x, _ in points), default=100)
    x_max = max(x_max, 10)  # a run at step 0: an axis to 10 until it moves
    x_step = nice_step(x_max)
    x_max = math.ceil(x_max / x_step) * x_step
    low, high = y_range

    def xy(x: float, y: float) -> tuple[float, float]:
        y = min(max(y, low), high) if math.isfinite(y) else high  # off the chart: top edge
        return (
            LEFT + x / x_max * (WIDTH - LEFT - RIGHT),
            HEIGHT - BOTTOM - (y - low) / (high - low) * (HEIGHT - TOP - BOTTOM),
        )

    parts = [_axes(xy, x_max, x_step, y_range, y_title, guide, y_format)]
    ends = []
    for run, points, dashed in lines:
        path = " ".join("{:.1f},{:.1f}".format(*xy(x, y)) for x, y in points)
        dash = ' stroke-dasharray="7 5"' if dashed else ""
        kind = "test" if dashed else "train"
        parts.append(
            f'<polyline class="run-line {kind}" points="{path}" fill="none" '
            f'stroke="{run.color}" stroke-width="3"{dash}/>'
        )
        if not dashed:
            ends.append((xy(*points[-1])[1], run))
    parts.extend(_end_labels(ends))
    title = html.escape(f"{y_title} against step, {len(runs)} run(s)")
    return (
        f'<svg class="run-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} '
        f'{HEIGHT}" width="100%" role="img" aria-label="{title}" font-family="sans-serif" '
        f'font-size="{FONT_SIZE}" fill="currentColor">{"".join(parts)}</svg>'
    )


def _axes(xy, x_max, x_step, y_range, y_title, guide, y_format) -> str:
    low, high = y_range
    y_step = nice_step(high - low, 4)
    x_left, y_bottom = xy(0, low)
    x_right, y_top = xy(x_max, high)
    parts = ['<g stroke="currentColor" stroke-opacity="0.15">']
    for i in range(round((high - low) / y_step) + 1):
        _, y = xy(0, low + i * y_step)
        parts.append(f'<line x1="{x_left}" y1="{y:.1f}" x2="{x_right:.1f}" y2="{y:.1f}"/>')
    parts.append("</g>")
    for i in range(round((high - low) / y_step) + 1):
        value = low + i * y_step
        _, y = xy(0, value)
        parts.append(
            f'<text x="{x_left - 6}" y="{y:.1f}" dy="0.35em" text-anchor="end">'
            f"{y_format.format(value)}</text>"
        )
    for i in range(round(x_max / x_step) + 1):
        x, _ = xy(i * x_step, low)
        parts.append(
            f'<text x="{x:.1f}" y="{y_bottom + 18}" text-anchor="middle">'
            f"{step_label(i * x_step)}</text>"
        )
    guide_value, guide_text = guide
    _, y_guide = xy(0, guide_value)
    parts.append(
        f'<line x1="{x_left}" y1="{y_guide:.1f}" x2="{x_right:.1f}" y2="{y_guide:.1f}" '
        f'stroke="currentColor" stroke-opacity="0.6" stroke-dasharray="2 4"/>'
        f'<text class="guide" x="{x_right - 4:.1f}" y="{y_guide - 5:.1f}" text-anchor="end" '
        f'fill-opacity="0.8">{guide_text}</text>'
        f'<polyline points="{x_left},{y_top:.1f} {x_left},{y_bottom:.1f} {x_right:.1f},'
        f'{y_bottom:.1f}" fill="none" stroke="currentColor"/>'
        f'<text x="{(x_left + x_right) / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
        f"step</text>"
        f'<text transform="translate(16 {(y_top + y_bottom) / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{y_title}</text>'
    )
    return "".join(parts)


def _end_labels(ends: list[tuple[float, RunCurves]]) -> list[str]:
    """Each run's number just right of its line's end, nudged apart so none overlap."""
    ends = sorted(ends, key=lambda end: end[0])
    ys, last_y = [], -math.inf
    for y, _ in ends:
        last_y = max(y, last_y + FONT_SIZE)
        ys.append(last_y)
    lowest = HEIGHT - BOTTOM - FONT_SIZE / 2  # above the step ticks
    shift = max(0.0, ys[-1] - lowest) if ys else 0.0
    return [
        f'<text class="run-number" x="{WIDTH - RIGHT + 4}" y="{y - shift:.1f}" dy="0.35em" '
        f'fill="{run.color}" font-weight="bold">{html.escape(run.number)}</text>'
        for y, (_, run) in zip(ys, ends, strict=True)
    ]


def legend_html(runs: list[RunCurves], with_test: bool = True) -> str:
    """The runs' colours and names, large enough to read, with what solid and dashed mean."""
    items = "".join(
        f'<span class="run-key"><span class="swatch" style="background:{run.color}"></span>'
        f"{html.escape(run.label)}</span>"
        for run in runs
    )
    key = (
        '<span class="run-key">── training loss (smoothed)</span>'
        '<span class="run-key">- - - test loss (1,000 held-out images)</span>'
        if with_test
        else ""
    )
    return f'<div class="run-legend">{items}{key}</div>'
