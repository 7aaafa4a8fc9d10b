"""MNIST digits as a bold brush on a small drawing makes them: training data for the shipped
network (`python -m mnist_demo.train --augment --bold-share 0.35`).

A student's bold brush on a small digit fills its loops and corners. The app thins the
strokes back to MNIST's width (mnist_demo/stroke_width.py), but the filled loops stay
filled: a small bold 5 reaches the network as a lump with a 5's outline. MNIST has no such
digits, so the network was never shown one. Here each training digit is drawn over with a
round pen (its strokes widened by `pen` pixels on each side, at 4x MNIST's size) and then
goes through the app's own preprocessing, from the stroke step on: exactly what the
network will be given for a drawing like it.

    from mnist_demo.bold_digits import bold_copies
    bold = bold_copies(train_set.images, generator)   # (N, 1, 28, 28), one pen each
"""

import numpy as np
import torch
from PIL import Image

from mnist_demo.constants import IMAGE_SIZE
from mnist_demo.preprocess import stages_of_ink
from mnist_demo.stroke_width import distance_to

UPSCALE = 4  # each digit is redrawn at 112 x 112: the 20 px digit about 80 px tall
# How far the pen widens the strokes on each side, in pixels at that size: up to a stroke
# about 45% of the digit's height, more than the pad's boldest brush on its smallest digits
# (radius 20 on a digit drawn 25% of the pad's height: 36%). Pens up to 32 px did worse.
PEN_RANGE = (0.0, 24.0)


def bolder(image28: np.ndarray, pen: float) -> np.ndarray:
    """The digit (28x28, 0..1) with its strokes widened by `pen` px on each side at 4x,
    with an anti-aliased edge. Returns the 112 x 112 ink."""
    size = IMAGE_SIZE * UPSCALE
    big = Image.fromarray(image28.astype(np.float32), mode="F").resize(
        (size, size), Image.Resampling.BILINEAR
    )
    distance = distance_to(np.asarray(big) > 0.5, limit=pen + 2)  # 0 on the strokes
    # The strokes' edge is half a pixel beyond their last pixel: the new edge `pen` px
    # further out, anti-aliased over a pixel.
    return np.clip(pen + 1 - distance, 0.0, 1.0).astype(np.float32)


def as_the_app_sees_it(ink: np.ndarray) -> np.ndarray:
    """A drawing's ink through the app's preprocessing from the crop on: strokes thinned or
    thickened to MNIST's proportion, scaled into the 20 px box, centred by mass in 28x28."""
    return stages_of_ink(ink).image


def bold_copy(image28: np.ndarray, pen: float) -> np.ndarray:
    """One digit as a drawing with a pen `pen` px bolder would reach the network."""
    if image28.max() <= 0.5:  # nothing to widen (no MNIST digit is this faint)
        return image28
    return as_the_app_sees_it(bolder(image28, pen))


def bold_copies(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A bold copy of every image (N, 1, 28, 28), each with its own pen drawn uniformly
    from PEN_RANGE. About 2 ms an image: a minute or two for MNIST's 60,000."""
    low, high = PEN_RANGE
    pens = (torch.rand(len(images), generator=generator) * (high - low) + low).tolist()
    copies = [bold_copy(image[0].numpy(), pen) for image, pen in zip(images, pens, strict=True)]
    return torch.from_numpy(np.stack(copies)).unsqueeze(1)
