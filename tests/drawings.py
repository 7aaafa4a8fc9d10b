"""Digits drawn the way a student draws them: strokes of a round brush on a canvas.

The strokes are polylines in unit coordinates (0..1 across the digit's box), so the same
digit can be drawn small in a corner or large in the middle, into an array here or with the
mouse in the browser tests.
"""

import base64
from io import BytesIO

import numpy as np
from PIL import Image, ImageDraw

# Each digit: a list of strokes; each stroke a list of (x, y) points, 0..1 in its box.
DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [[(0.5 + 0.38 * np.sin(t), 0.5 - 0.48 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 25)]],
    1: [[(0.35, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    7: [[(0.05, 0.05), (0.95, 0.05), (0.4, 1.0)]],
    4: [[(0.6, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1.0)]],
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
    layer = Image.new("RGBA", (canvas_size, canvas_size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(layer)
    for stroke in stroke_points(digit, box):
        pen.line(stroke, fill=(0, 0, 0, 255), width=2 * brush_radius, joint="curve")
        for x, y in (stroke[0], stroke[-1]):  # round caps, like a round brush
            pen.ellipse(
                (x - brush_radius, y - brush_radius, x + brush_radius, y + brush_radius),
                fill=(0, 0, 0, 255),
            )
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
