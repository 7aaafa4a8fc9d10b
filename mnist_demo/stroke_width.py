"""How bold a drawing's strokes are, and how to redraw them as bold as MNIST's.

MNIST's pens drew strokes about an eighth as wide as the digit is tall. A student's brush can
make them 40% or more on a small digit, and scaling the digit to MNIST's 20 px box keeps
that proportion: a small 2 drawn with a bold brush reaches the network as a blob it reads
as an 8. So before scaling, the strokes are measured and thinned (or thickened) until
they are as wide, compared with the digit, as MNIST's are:

    cropped ink  -> scaled so the longer side is WORK_SIZE px (a common yardstick)
                 -> distance of each pixel to the edge of the strokes (a distance transform)
                 -> the strokes' width: twice the distance along their middle
                 -> move the edge in (thinner) or out (bolder) by half the difference

A drawing whose strokes are already within MNIST's usual range is left as it is, and so is
a digit no bigger than MNIST's 28 x 28 pictures (an MNIST digit itself): its strokes, one to
three pixels wide, were made the MNIST way, and cannot be measured to better than a pixel,
a third of their width. (Thinning MNIST's own boldest test digits costs the network 5 of
them: benchmarks/drawn_accuracy.py.)

    from mnist_demo.stroke_width import even_strokes
    even = even_strokes(cropped)   # even.ink: the redrawn crop, even.width: what was measured
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

from mnist_demo.constants import IMAGE_SIZE

# The crop is measured and redrawn with its longer side this many pixels: enough for the
# thinnest brush to stay a few pixels wide, small enough to stay cheap (about 1 ms).
WORK_SIZE = 64
# Ink above this (0..1) counts as stroke when measuring.
STROKE_THRESHOLD = 0.5
# MNIST's strokes: width / longer side of the digit, measured as `even_strokes` measures
# drawings, on the first 5,000 training digits (`python benchmarks/drawn_accuracy.py
# --mnist-widths 5000`): 5th percentile 0.081, median 0.117, 95th 0.191. Drawings below
# LOW or above HIGH are redrawn at MNIST_WIDTH_RATIO. HIGH is above MNIST's 95th
# percentile: the shipped network, trained on thickened digits too, reads strokes up to a
# quarter of the digit as well as thinned ones (benchmarks/drawn_accuracy.py measured it).
MNIST_WIDTH_RATIO_LOW = 0.08
MNIST_WIDTH_RATIO = 0.12
MNIST_WIDTH_RATIO_HIGH = 0.25
# Beyond this the strokes have run together into blobs and their measured width is the
# blobs', not the brush's: thinning by all of it would leave nothing but a sliver.
MAX_MEASURED_RATIO = 0.35
# Paper kept around the working copy, for strokes that grow bolder: at most
# MNIST_WIDTH_RATIO * WORK_SIZE / 2 (about 5 px) on each side.
MARGIN = 8


@dataclass(frozen=True)
class EvenStrokes:
    """A crop redrawn with MNIST-like strokes, and what was measured on the way."""

    ink: np.ndarray  # (h, w) 0..1, the crop with its strokes thinned or thickened
    width: float  # the strokes' width as drawn, in the pixels of the drawing
    ratio: float  # that width / the crop's longer side
    target_ratio: float  # the proportion it was redrawn at (= ratio when left as it was)

    @property
    def changed(self) -> bool:
        return self.target_ratio != self.ratio

    @classmethod
    def as_drawn(cls, cropped: np.ndarray) -> "EvenStrokes":
        """The crop left as it is, unmeasured (the recipe without this step)."""
        return cls(cropped, 0.0, 0.0, 0.0)


def distance_to(targets: np.ndarray, limit: float | None = None) -> np.ndarray:
    """For every pixel, the straight-line distance (px) to the nearest True pixel of `targets`.

    The exact Euclidean distance transform in two passes: first along each column (how far
    up or down is the nearest target), then along each row, the nearest over the columns
    around of sqrt(column_distance^2 + horizontal_distance^2). Infinite when there is no
    target. With a `limit`, only distances up to it are exact (larger ones may come out
    larger still): the second pass then looks only that far sideways, which is quicker.
    """
    height, width = targets.shape
    rows = np.arange(height, dtype=np.float32)[:, None]  # (H, 1)
    above = np.maximum.accumulate(np.where(targets, rows, -np.inf), axis=0)
    below = np.minimum.accumulate(np.where(targets, rows, np.inf)[::-1], axis=0)[::-1]
    vertical = np.minimum(rows - above, below - rows)  # (H, W)
    # The nearest target is never further sideways than the one straight up or down.
    reach = width - 1
    if np.isfinite(vertical).all():
        reach = min(reach, int(vertical.max()))
    if limit is not None:
        reach = min(reach, int(np.ceil(limit)))
    squared = vertical**2
    nearest = squared.copy()
    for step in range(1, reach + 1):  # targets `step` columns to the left, and to the right
        np.minimum(nearest[:, step:], squared[:, :-step] + step**2, out=nearest[:, step:])
        np.minimum(nearest[:, :-step], squared[:, step:] + step**2, out=nearest[:, :-step])
    return np.sqrt(nearest)


def depth_inside(mask: np.ndarray, limit: float | None = None) -> np.ndarray:
    """How far inside the strokes each ink pixel is (px), measured to the strokes' edge
    (half-way between the last ink pixel and the first paper pixel); -0.5 on the paper.
    Exact up to `limit` (see `distance_to`)."""
    return (distance_to(~mask, limit) - 0.5).astype(np.float32)


def stroke_width(mask: np.ndarray, depth: np.ndarray | None = None) -> float:
    """The typical width (px) of the strokes of a binary picture (paper around it).

    Along the middle of a stroke (the ridge: ink pixels at least as deep as their eight
    neighbours) the depth is half the width; the median over the ridge ignores the
    deeper crossings and blobs. A stroke an even number of pixels wide has a ridge two
    pixels wide, each half a pixel off the middle: + 0.5 px splits the difference.
    """
    if not mask.any():
        return 0.0
    depth = depth_inside(mask) if depth is None else depth
    padded = np.pad(depth, 1, constant_values=-np.inf)
    height, width = depth.shape
    neighbours = np.stack(
        [
            padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if (dy, dx) != (0, 0)
        ]
    )
    ridge = mask & (depth >= neighbours.max(axis=0))
    return float(2 * np.median(depth[ridge]) + 0.5)


def even_strokes(cropped: np.ndarray, smallest: int = IMAGE_SIZE) -> EvenStrokes:
    """Thin or thicken the strokes of a cropped drawing to MNIST's proportion.

    `cropped` is the ink (0..1) inside its bounding box. Strokes already as wide as
    MNIST's (compared with the longer side), and crops no longer than `smallest` px, are
    left alone: `ink` is `cropped` itself. Others are redrawn on a copy whose longer side
    was WORK_SIZE px, cropped to the new strokes.
    """
    height, width = cropped.shape
    if max(height, width) <= smallest:  # already MNIST's size, see above
        return EvenStrokes.as_drawn(cropped)
    factor = WORK_SIZE / max(height, width)
    mask = np.pad(_resized(cropped, factor) > STROKE_THRESHOLD, MARGIN)
    if not mask.any():  # ink too faint to measure: nothing to redraw
        return EvenStrokes.as_drawn(cropped)
    depth = depth_inside(mask, limit=MAX_MEASURED_RATIO * WORK_SIZE / 2 + 2)  # deeper: a blob
    drawn = stroke_width(mask, depth)
    ratio = drawn / WORK_SIZE
    if MNIST_WIDTH_RATIO_LOW <= ratio <= MNIST_WIDTH_RATIO_HIGH:
        return EvenStrokes(cropped, drawn / factor, ratio, ratio)
    # The bounding box is the pen's path plus one stroke width: keep the path, and give it
    # the width w that makes w / (path + w) MNIST's proportion.
    stroke = min(drawn, MAX_MEASURED_RATIO * WORK_SIZE)  # a blob: thin it as a bold stroke
    path = WORK_SIZE - stroke
    wanted = MNIST_WIDTH_RATIO * path / (1 - MNIST_WIDTH_RATIO)
    shift = (stroke - wanted) / 2  # > 0: the edge moves in (thinner); < 0: out (bolder)
    if shift < 0:  # the paper's depth too: how far outside the strokes it is
        depth = np.where(mask, depth, 0.5 - distance_to(mask, limit=1 - shift))
    redrawn = np.clip(depth - shift + 0.5, 0.0, 1.0)  # an anti-aliased edge, 1 px wide
    rows = np.flatnonzero(redrawn.any(axis=1))
    cols = np.flatnonzero(redrawn.any(axis=0))
    if rows.size == 0:  # cannot happen (wanted > 0), but never return an empty picture
        return EvenStrokes(cropped, drawn / factor, ratio, ratio)
    redrawn = redrawn[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return EvenStrokes(redrawn, drawn / factor, ratio, MNIST_WIDTH_RATIO)


def _resized(ink: np.ndarray, factor: float) -> np.ndarray:
    height, width = ink.shape
    size = (max(1, round(width * factor)), max(1, round(height * factor)))  # PIL: (w, h)
    image = Image.fromarray(ink.astype(np.float32))  # mode "F": floats
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR))
