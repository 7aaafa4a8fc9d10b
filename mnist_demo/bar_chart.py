"""Ten probabilities as an inline SVG bar chart: the Draw tab's softmax, one bar per digit.

Drawn here as a string, not by a plotting widget: the browser shows the markup as it comes
on every stroke of every student (a chart library re-renders in the page first), and the
chart is the same on the page and in what the API returns. The y axis always runs from 0
to 1 (a probability), with gridlines at quarters; each bar has its digit under it and its
probability written along it (4 significant digits, never rounded up to 1); the top guess
has a colour of its own. A viewBox scales it to the column's width, from a 390 px phone
(text at least 12.75 px) to a projector.

Each bar is an image for a screen reader: `<rect role="img" aria-label="digit 7: 0.9999,
top guess">`, with a <title> (the tooltip). With no prediction every bar is 0 and none is
the top guess.

    svg = probability_bars(probabilities, top_color="#ab390b", other_color="#6f95c4")
"""

import html
import math

from mnist_demo.constants import CLASS_NAMES

WIDTH, HEIGHT = 400, 256  # the SVG's own units; it is scaled to the column's width
LEFT, RIGHT, TOP, BOTTOM = 52, 6, 10, 48  # margins: y ticks left, digits and "digit" below
FONT_SIZE = 17  # 12.75 px on a 390 px phone (the chart 300 px wide), larger elsewhere
BAR_SHARE = 0.72  # of each digit's slot; the rest is the gap between bars
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
INSIDE_FROM = 0.5  # a bar this tall has its number inside it (only a top guess can be)
TOP_GUESS_WORDS = "top guess"


def bar_label_value(p: float) -> float:
    """A probability for the bar chart (whose labels screen readers read out): 4 significant
    digits, and never rounded up to 1 (0.9999976 stays 0.9999)."""
    rounded = float(f"{p:.4g}")
    return rounded if rounded < 1 or p >= 1 else math.floor(p * 10_000) / 10_000


def bar_label(digit: str, p: float, top: bool) -> str:
    """What a screen reader says of one bar: "digit 7: 0.9999, top guess"."""
    return f"digit {digit}: {bar_label_value(p):g}" + (f", {TOP_GUESS_WORDS}" if top else "")


def probability_bars(
    probabilities: list[float] | None,
    top_color: str,
    other_color: str,
    title: str = "the probability of each digit",
) -> str:
    """The chart: one bar per class from 0 to 1, the largest probability in `top_color`.

    `probabilities` None (nothing drawn): ten bars at 0, no top guess and no numbers.
    """
    drawn = probabilities is not None
    probabilities = list(probabilities) if drawn else [0.0] * len(CLASS_NAMES)
    top = max(range(len(probabilities)), key=probabilities.__getitem__) if drawn else None
    slot = (WIDTH - LEFT - RIGHT) / len(probabilities)
    parts = [_axes()]
    for i, (digit, p) in enumerate(zip(CLASS_NAMES, probabilities, strict=True)):
        x = LEFT + i * slot + slot * (1 - BAR_SHARE) / 2
        parts.append(_bar(digit, p, i == top, x, slot * BAR_SHARE, top_color, other_color, drawn))
    name = html.escape(title + (f"; top guess {CLASS_NAMES[top]}" if drawn else "; nothing drawn"))
    return (
        f'<svg class="probability-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 '
        f'{WIDTH} {HEIGHT}" width="100%" role="group" aria-label="{name}" '
        f'font-family="sans-serif" font-size="{FONT_SIZE}" fill="currentColor">'
        f"{''.join(parts)}</svg>"
    )


def _y(p: float) -> float:
    """The SVG y of probability p (0 at the bottom of the plot, 1 at its top)."""
    return HEIGHT - BOTTOM - min(max(p, 0.0), 1.0) * (HEIGHT - TOP - BOTTOM)


def _axes() -> str:
    """Gridlines at 0, 0.25, ..., 1 with their values; the x axis's title. Hidden from
    screen readers: the bars say their own numbers."""
    parts = ['<g aria-hidden="true">']
    for tick in TICKS:
        y = _y(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="{0.6 if tick == 0 else 0.15}"/>'
            f'<text x="{LEFT - 6}" y="{y:.1f}" dy="0.35em" text-anchor="end">{tick:g}</text>'
        )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
        "digit</text></g>"
    )
    return "".join(parts)


def _bar(digit, p, top, x, width, top_color, other_color, drawn) -> str:
    """One bar, its digit under it and its number along it (inside a tall bar, in white)."""
    label = html.escape(bar_label(digit, p, top))
    y = _y(p)
    middle = x + width / 2
    bold = ' font-weight="bold"' if top else ""
    parts = [
        f'<rect role="img" aria-label="{label}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
        f'height="{_y(0) - y:.1f}" fill="{top_color if top else other_color}">'
        f"<title>{label}</title></rect>",
        f'<text aria-hidden="true" x="{middle:.1f}" y="{_y(0) + 20}" text-anchor="middle"'
        f"{bold}>{digit}</text>",
    ]
    if drawn:  # the number, read bottom to top: above a short bar, inside a tall one
        inside = p >= INSIDE_FROM
        anchor, nudge, fill = ("end", 5, ' fill="#ffffff"') if inside else ("start", -5, "")
        # Turned a quarter left, the letters stand left of their baseline: 5 right of the
        # bar's middle centres them on it.
        parts.append(
            f'<text aria-hidden="true" class="bar-value" transform="translate({middle + 5:.1f} '
            f'{y + nudge:.1f}) rotate(-90)" text-anchor="{anchor}"{fill}{bold}>'
            f"{bar_label_value(p):g}</text>"
        )
    return "".join(parts)
