"""A drawing becomes the 28x28 input the network expects, the way MNIST digits were made.

MNIST digits were scaled so their longer side fits a 20x20 box (keeping the aspect ratio,
anti-aliased), pasted into a 28x28 image and shifted so their centre of mass sits in the
middle. A drawing has to go through the same steps, or the network sees something it never
saw in training (a digit drawn small in a corner scores near chance if you just resize the
whole canvas). And MNIST's pens drew strokes about an eighth as wide as the digit: a bold
brush on a small digit makes a blob that scaling keeps a blob, so the strokes are redrawn
at MNIST's width first. The steps:

    canvas (H, W, 4)  -> ink in 0..1 (H, W)         from the alpha channel, or brightness
                      -> crop to the ink's bounding box
                      -> strokes thinned or thickened to MNIST's width   (stroke_width.py)
                      -> scale the longer side to 20 px
                      -> paste into 28x28, centre of mass in the middle
                      -> normalise with MNIST's mean and std -> tensor (1, 1, 28, 28)

Accepted images: a PNG as a data URL ("data:image/png;base64,...", what the Draw tab's
canvas sends), a Gradio Sketchpad value (dict with background/layers/composite), a uint8
array (grey (H, W), or (H, W, C) with 1, 2, 3 or 4 channels), or a PIL image.
"""

import base64
import binascii
import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from mnist_demo.constants import DIGIT_BOX, IMAGE_SIZE
from mnist_demo.data import normalize
from mnist_demo.stroke_width import EvenStrokes, even_strokes

# Ink fainter than this (0..1) is treated as paper: it does not count for the bounding box
# and a canvas with nothing stronger is empty.
INK_THRESHOLD = 0.15
# Where MNIST puts the centre of mass (row, column), measured on its 60,000 training
# images with `mnist_demo.preprocess.center_of_mass` (pixel indices 0..27).
MNIST_CENTER = (14.0, 14.0)
# A drawing sent as a data URL: a 280x280 canvas is a few KB of PNG; anything this long is
# not a drawing, and is refused before it is decoded.
MAX_DATA_URL_LENGTH = 2_000_000
PNG_DATA_URL_PREFIX = "data:image/png;base64,"


class EmptyCanvasError(ValueError):
    """Nothing is drawn: there is no digit to classify."""

    def __init__(self, message: str = "The canvas is empty: draw a digit first.") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Stages:
    """Every step of the recipe, for showing a student what happens to their drawing."""

    ink: np.ndarray  # (H, W) 0..1, the whole canvas
    box: tuple[int, int, int, int]  # (top, bottom, left, right) of the ink, bottom/right exclusive
    cropped: np.ndarray  # (h, w) the ink inside its bounding box
    strokes: EvenStrokes  # .ink: the crop with MNIST-wide strokes; .width: as drawn (px)
    scaled: np.ndarray  # (<=20, <=20) longer side scaled to 20 px
    image: np.ndarray  # (28, 28) 0..1, what the network sees (before normalising)


def to_model_input(image) -> torch.Tensor:
    """The drawing as the network's input: a normalised tensor of shape (1, 1, 28, 28)."""
    return image_to_tensor(preprocess_stages(image).image)


def image_to_tensor(image28: np.ndarray) -> torch.Tensor:
    """A 28x28 picture in 0..1 -> normalised tensor (1, 1, 28, 28), exactly as in training."""
    tensor = torch.from_numpy(np.ascontiguousarray(image28, dtype=np.float32))
    return normalize(tensor).reshape(1, 1, IMAGE_SIZE, IMAGE_SIZE)


def to_mnist_image(image) -> np.ndarray:
    """The drawing as a 28x28 MNIST-style picture, float32 in 0..1 (1 = ink)."""
    return preprocess_stages(image).image


def preprocess_stages(image, even_stroke_width: bool = True) -> Stages:
    """Run the whole recipe and keep every intermediate picture.

    even_stroke_width=False skips the stroke step (the strokes stay as drawn), to show
    what it changes.
    """
    return stages_of_ink(ink_of(image), even_stroke_width)


def stages_of_ink(
    ink: np.ndarray, even_stroke_width: bool = True, smallest: int = IMAGE_SIZE
) -> Stages:
    """The recipe from the ink on (0..1, at least one inked pixel): crop, strokes, scale,
    centre. `preprocess_stages` after reading the ink; also for ink made in code. Crops no
    longer than `smallest` px keep their strokes as drawn (MNIST's own digits)."""
    box = bounding_box(ink)
    top, bottom, left, right = box
    cropped = ink[top:bottom, left:right]
    if even_stroke_width:
        strokes = even_strokes(cropped, smallest)
    else:
        strokes = EvenStrokes.as_drawn(cropped)
    scaled = scale_to_box(strokes.ink, DIGIT_BOX)
    return Stages(
        ink=ink,
        box=box,
        cropped=cropped,
        strokes=strokes,
        scaled=scaled,
        image=paste_centered(scaled),
    )


def ink_of(image) -> np.ndarray:
    """How much ink is in each pixel, 0..1, as a float32 array (H, W).

    Raises `EmptyCanvasError` when nothing is drawn and `ValueError` for things that are
    not images.
    """
    if image is None:
        raise EmptyCanvasError()
    if isinstance(image, str):  # "" is what a cleared pad sends
        if not image:
            raise EmptyCanvasError()
        image = image_from_data_url(image)
    if isinstance(image, dict):
        return _ink_of_sketchpad(image)
    return _ink_of_array(_as_array(image))


def image_from_data_url(data_url: str) -> Image.Image:
    """Decode "data:image/png;base64,..." (a canvas's `toDataURL()`) into a PIL image.

    Raises `ValueError` with a message for anything else: another format, bad base64, a
    broken PNG, or a picture with more pixels than PIL's decompression-bomb limit.
    """
    if len(data_url) > MAX_DATA_URL_LENGTH:
        raise ValueError(
            f"The drawing is too large ({len(data_url):,} characters; at most "
            f"{MAX_DATA_URL_LENGTH:,})."
        )
    if not data_url.startswith(PNG_DATA_URL_PREFIX):
        raise ValueError(f"Expected a PNG data URL starting with {PNG_DATA_URL_PREFIX!r}.")
    try:
        png = base64.b64decode(data_url[len(PNG_DATA_URL_PREFIX) :], validate=True)
    except binascii.Error as error:
        raise ValueError(f"The drawing's data URL is not valid base64 ({error}).") from None
    try:
        image = Image.open(io.BytesIO(png), formats=["PNG"])
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"The drawing is not a PNG image that can be read ({error}).") from None
    return image


def _ink_of_sketchpad(value: dict) -> np.ndarray:
    """A Sketchpad value: the strokes are the opaque pixels of its layers."""
    if "layers" not in value and "composite" not in value:
        raise ValueError(
            "A Sketchpad value needs 'layers' or 'composite' (and usually 'background')."
        )
    layers = value.get("layers")
    if layers is None:
        layers = []
    if not isinstance(layers, list | tuple):
        raise ValueError("A Sketchpad value's 'layers' must be a list of images.")
    ink = None
    for layer in layers:
        if layer is None:
            continue
        layer_ink = _ink_of_array(_as_array(layer), allow_empty=True)
        if ink is not None and layer_ink.shape != ink.shape:
            raise ValueError("All layers of a Sketchpad value must have the same size.")
        ink = layer_ink if ink is None else np.maximum(ink, layer_ink)
    if ink is not None and ink.max() > INK_THRESHOLD:
        return ink
    if value.get("composite") is not None:
        # No ink in the layers (or no layers): read the flattened picture instead.
        return _ink_of_array(_as_array(value["composite"]))
    raise EmptyCanvasError()


def _as_array(image) -> np.ndarray:
    """PIL image or array -> numpy array of uint8, shape (H, W) or (H, W, C)."""
    if isinstance(image, Image.Image):
        mode = "RGBA" if image.mode in ("RGBA", "LA", "PA", "P") else "L"
        image = np.asarray(image.convert(mode))
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"Expected an image (a PNG data URL, a numpy array, a PIL image or a Sketchpad "
            f"value), "
            f"got {type(image).__name__}."
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise ValueError(
            f"Expected an image of shape (H, W) or (H, W, C) with C = 1, 2, 3 or 4 channels, "
            f"got shape {image.shape}."
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise EmptyCanvasError("The image has no pixels: draw a digit first.")
    return _as_uint8(image)


def _as_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise ValueError("The image contains NaN or infinite pixel values.")
        if image.size and image.max() <= 1.0:
            image = image * 255.0  # floats in 0..1
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        return np.clip(image, 0, 255).astype(np.uint8)
    raise ValueError(f"Pixels must be numbers, got dtype {image.dtype}.")


def _ink_of_array(pixels: np.ndarray, allow_empty: bool = False) -> np.ndarray:
    """Ink from transparency when the image has some, else from brightness.

    A transparent pixel is paper whatever its colour, so the alpha channel works for dark
    and light strokes alike. Without transparency we compare each pixel with the paper
    (the median of the border): dark ink on white and white ink on black both work.
    """
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        alpha = pixels[:, :, -1]
        if alpha.min() < 250:  # some transparency: the opaque pixels are the strokes
            ink = alpha.astype(np.float32) / 255.0
            return ink if allow_empty else _check_not_empty(ink)
        pixels = pixels[:, :, :-1]
    gray = _luminance(pixels)
    paper = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    ink = np.abs(gray - paper) / max(paper, 1.0 - paper)
    return ink if allow_empty else _check_not_empty(ink)


def _luminance(pixels: np.ndarray) -> np.ndarray:
    """Brightness 0..1, float32 (H, W)."""
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        return pixels.reshape(pixels.shape[0], pixels.shape[1]).astype(np.float32) / 255.0
    rgb = pixels[:, :, :3].astype(np.float32)
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)) / 255.0


def _check_not_empty(ink: np.ndarray) -> np.ndarray:
    if not (ink > INK_THRESHOLD).any():
        raise EmptyCanvasError()
    return ink


def bounding_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels with ink; bottom and right exclusive."""
    mask = ink > INK_THRESHOLD
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise EmptyCanvasError()
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def scale_to_box(cropped: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Scale so the longer side is `box` pixels, keeping the aspect ratio (anti-aliased).

    The strongest pixel is set back to full ink, like MNIST's digits, so a thin stroke on a
    big canvas does not fade to grey when it is shrunk.
    """
    height, width = cropped.shape
    factor = box / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))  # PIL: (w, h)
    scaled = np.asarray(
        Image.fromarray(cropped.astype(np.float32), mode="F").resize(
            size, Image.Resampling.BILINEAR
        )
    )
    scaled = np.clip(scaled, 0.0, None)
    peak = scaled.max()
    return (scaled / peak if peak > 0 else scaled).astype(np.float32)


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Ink-weighted mean (row, column)."""
    total = image.sum()
    rows = np.arange(image.shape[0], dtype=np.float32)
    cols = np.arange(image.shape[1], dtype=np.float32)
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def paste_centered(scaled: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Place into a size x size image so the centre of mass lands where MNIST puts it.

    The shift may be a fraction of a pixel (linear interpolation): rounding it to whole
    pixels would make the same digit jump by a pixel depending on where it was drawn.
    """
    height, width = scaled.shape
    row, col = center_of_mass(scaled)
    top = float(np.clip(MNIST_CENTER[0] - row, 0, size - height))  # keep the whole digit inside
    left = float(np.clip(MNIST_CENTER[1] - col, 0, size - width))
    whole_top, whole_left = int(top), int(left)
    image = np.zeros((size, size), dtype=np.float32)
    image[whole_top : whole_top + height, whole_left : whole_left + width] = scaled
    return _shift_down_right(image, top - whole_top, left - whole_left)


def _shift_down_right(image: np.ndarray, down: float, right: float) -> np.ndarray:
    """Move the picture by a fraction (0..1) of a pixel down and right, interpolating."""
    moved = image * (1 - down)
    moved[1:] += image[:-1] * down
    result = moved * (1 - right)
    result[:, 1:] += moved[:, :-1] * right
    return result
