"""Digits drawn the way a student draws them: strokes of a round brush on a canvas.

The strokes are polylines in unit coordinates (0..1 across the digit's box), so the same
digit can be drawn small in a corner or large in the middle, into an array here or with the
mouse in the browser tests.
"""

import base64
from io import BytesIO

import numpy as np
from PIL import Image, ImageDraw

# Each digit: a list of strokes; each stroke a list of (x, y) points, 0..1 in its box,
# drawn the way people usually draw it (one or two strokes of the pen).
_T = np.linspace(0, 2 * np.pi, 33)
DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [[(0.5 + 0.38 * np.sin(t), 0.5 - 0.48 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 25)]],
    1: [[(0.35, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [
        [(0.1, 0.25), (0.25, 0.06), (0.5, 0.0), (0.75, 0.05), (0.88, 0.22), (0.85, 0.42)]
        + [(0.65, 0.62), (0.35, 0.82), (0.08, 1.0), (0.5, 1.0), (0.95, 1.0)]
    ],
    3: [
        [(0.1, 0.1), (0.35, 0.0), (0.7, 0.02), (0.85, 0.15), (0.82, 0.32), (0.6, 0.45)]
        + [(0.4, 0.48), (0.65, 0.52), (0.88, 0.65), (0.9, 0.82), (0.75, 0.96), (0.45, 1.0)]
        + [(0.1, 0.92)]
    ],
    4: [[(0.6, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1.0)]],
    5: [
        [(0.85, 0.0), (0.2, 0.0), (0.15, 0.45), (0.4, 0.38), (0.7, 0.42), (0.88, 0.6)]
        + [(0.88, 0.8), (0.7, 0.96), (0.4, 1.0), (0.1, 0.9)]
    ],
    6: [
        [(0.75, 0.0), (0.45, 0.15), (0.22, 0.4), (0.12, 0.65), (0.18, 0.88), (0.4, 1.0)]
        + [(0.65, 0.97), (0.85, 0.8), (0.82, 0.6), (0.6, 0.48), (0.35, 0.52), (0.18, 0.68)]
    ],
    7: [[(0.05, 0.05), (0.95, 0.05), (0.4, 1.0)]],
    # a figure eight: the top loop to the right first, crossing in the middle
    8: [[(0.5 + 0.4 * np.sin(2 * t), (1 - np.cos(t)) / 2) for t in _T]],
    # a loop anticlockwise from its right side, then the stem down
    9: [
        [(0.5 + 0.35 * np.cos(t), 0.27 - 0.27 * np.sin(t)) for t in _T[::2]]
        + [(0.83, 0.6), (0.78, 1.0)]
    ],
}


def stroke_points(digit: int, box: tuple[float, float, float, float]):
    """The strokes of `digit` mapped into box = (left, top, right, bottom) in pixels."""
    left, top, right, bottom = box
    return [
        [(left + x * (right - left), top + y * (bottom - top)) for x, y in stroke]
        for stroke in DIGIT_STROKES[digit]
    ]


def draw_layer(digit: int, box, canvas_size: int = 280, brush_radius: int = 12) -> np.ndarray:
    """A Sketchpad layer: black strokes, alpha 255 where inked, transparent elsewhere."""
    return render_strokes(stroke_points(digit, box), canvas_size, brush_radius)


def render_strokes(strokes, canvas_size: int = 280, brush_radius: float = 12, supersample: int = 1):
    """Strokes (lists of (x, y) canvas pixels) drawn with a round brush, as the pad does:
    RGBA, black where inked. supersample > 1 draws that many times larger and shrinks the
    picture back, which smooths the edges like the browser's canvas does."""
    size, radius = canvas_size * supersample, brush_radius * supersample
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(layer)
    for stroke in strokes:
        points = [(x * supersample, y * supersample) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=(0, 0, 0, 255), width=round(2 * radius), joint="curve")
        ends = points if supersample > 1 else (points[0], points[-1])
        for x, y in ends:  # round caps (and joints), like a round brush
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(0, 0, 0, 255))
    if supersample > 1:
        layer = layer.resize((canvas_size, canvas_size), Image.Resampling.BOX)
    return np.asarray(layer).copy()


def sketchpad_value(layer: np.ndarray) -> dict:
    """What gr.Sketchpad(type="numpy", image_mode="RGBA") hands to a handler."""
    background = np.full_like(layer, 255)
    alpha = layer[:, :, 3:4].astype(np.float32) / 255
    composite = (background * (1 - alpha) + layer * alpha).astype(np.uint8)
    composite[:, :, 3] = 255
    return {"background": background, "layers": [layer], "composite": composite}


def composite_rgb(layer: np.ndarray, ink=(0, 0, 0), paper=(255, 255, 255)) -> np.ndarray:
    """The drawing flattened to an opaque RGB picture with the given ink and paper colours."""
    alpha = layer[:, :, 3:4].astype(np.float32) / 255
    picture = np.array(paper, np.float32) * (1 - alpha) + np.array(ink, np.float32) * alpha
    return picture.astype(np.uint8)


CENTERED = (60, 40, 220, 240)  # a large digit in the middle of a 280 canvas
SMALL_CORNER = (10, 10, 58, 70)  # the same shape at 0.3x, in the top-left corner


def canvas_data_url(layer: np.ndarray) -> str:
    """What the Draw tab's canvas sends after a stroke: its RGBA picture as a PNG data URL."""
    buffer = BytesIO()
    Image.fromarray(layer).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
