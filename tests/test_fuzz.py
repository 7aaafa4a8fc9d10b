"""Anything thrown at preprocessing and prediction: a valid answer or a clear ValueError.

Students (and people poking at the public API) send all sorts of images: every dtype, 1x1 to
4000x4000, one to six channels, blank, transparent, noise, PIL images in odd modes, None,
half-filled Sketchpad dicts, PNG data URLs whole or damaged. Whatever arrives, `predict_probabilities` must either return
ten probabilities that sum to 1, or raise a `ValueError` (`EmptyCanvasError` is one) whose
message a student can read. Any other exception is a bug.

    .venv/bin/python -m pytest tests/test_fuzz.py -q --hypothesis-show-statistics
"""

import base64
import io
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from mnist_demo.constants import CLASS_NAMES
from mnist_demo.predict import predict_probabilities
from mnist_demo.preprocess import to_model_input

FUZZ = settings(
    deadline=None,  # a 4000x4000 image takes a while on a busy 2-core machine
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def fuzz(max_examples: int) -> settings:
    return settings(FUZZ, max_examples=max_examples)


DTYPES = [np.uint8, np.bool_, np.float32, np.float64, np.int16, np.int32, np.int64, np.uint16]
SIZE_MARKS = [1, 2, 3, 27, 28, 29, 280, 281, 1000, 4000]  # edges and the app's sizes


# numpy's and torch's own wording leaking out means the check a student needed is missing.
NOT_FOR_STUDENTS = ("truth value", "ambiguous", "not iterable", "object has no attribute")


def assert_readable(error: ValueError) -> None:
    message = str(error).strip()
    assert message, f"{type(error).__name__} without a message"
    assert not any(words in message for words in NOT_FOR_STUDENTS), message


def check_answer(image) -> None:
    """The property: ten probabilities summing to 1, or a readable ValueError."""
    try:
        probabilities = predict_probabilities(image)
    except ValueError as error:  # EmptyCanvasError included
        assert_readable(error)
        return
    assert list(probabilities) == CLASS_NAMES
    values = list(probabilities.values())
    assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in values), values
    assert sum(values) == pytest.approx(1.0, abs=1e-5)


def check_model_input(image) -> None:
    """The preprocessing on its own: a finite (1, 1, 28, 28) tensor, or a ValueError."""
    try:
        tensor = to_model_input(image)
    except ValueError as error:
        assert_readable(error)
        return
    assert tensor.shape == (1, 1, 28, 28) and tensor.dtype == torch.float32
    assert torch.isfinite(tensor).all()


# ------------------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------------------


def elements_for(dtype):
    """Every value of the dtype, except NaN and infinity for floats."""
    if np.issubdtype(dtype, np.floating):
        width = 32 if dtype == np.float32 else 64
        return st.one_of(
            st.floats(0.0, 1.0, width=width),  # the usual float image
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=width),
        )
    return None  # hypothesis' default: the whole range of the integer dtype


@st.composite
def small_arrays(draw):
    """Random pixels: (H, W) or (H, W, C), C in 1..6, up to 48x48, any of DTYPES."""
    dtype = draw(st.sampled_from(DTYPES))
    height, width = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4, 5, 6]))
    shape = (height, width) if channels is None else (height, width, channels)
    return draw(hnp.arrays(dtype, shape, elements=elements_for(dtype)))


@st.composite
def large_arrays(draw):
    """1x1 up to 4000x4000: a flat fill with a few random patches at random places
    (hypothesis generating 16 million values itself would take minutes)."""
    dtype = draw(st.sampled_from([np.uint8, np.bool_, np.float32, np.int32]))
    height = draw(st.sampled_from(SIZE_MARKS) | st.integers(1, 4000))
    width = draw(st.sampled_from(SIZE_MARKS) | st.integers(1, 4000))
    channels = draw(st.sampled_from([None, 1, 3, 4]))  # 5 and 6: see test_random_arrays
    shape = (height, width) if channels is None else (height, width, channels)
    fill = draw(hnp.from_dtype(np.dtype(dtype), allow_nan=False, allow_infinity=False))
    image = np.full(shape, fill, dtype=dtype)
    for _ in range(draw(st.integers(0, 3))):
        patch_h = draw(st.integers(1, min(height, 64)))
        patch_w = draw(st.integers(1, min(width, 64)))
        top = draw(st.integers(0, height - patch_h))
        left = draw(st.integers(0, width - patch_w))
        patch_shape = (patch_h, patch_w) + shape[2:]
        image[top : top + patch_h, left : left + patch_w] = draw(
            hnp.arrays(dtype, patch_shape, elements=elements_for(dtype))
        )
    return image


def _big_drawing() -> np.ndarray:
    """A 4000x4000 white page with a black 1-like stroke near its bottom-right corner."""
    image = np.full((4000, 4000), 255, np.uint8)
    image[3000:3900, 3500:3560] = 0
    return image


def _blank(size, value, channels):
    return np.full((size, size, channels) if channels else (size, size), value, np.uint8)


@st.composite
def special_images(draw):
    """The cases people actually send: blank, one dot, transparent, noise, odd shapes."""
    size = draw(st.sampled_from(SIZE_MARKS[:-1]) | st.integers(1, 300))
    kind = draw(
        st.sampled_from(
            [
                "black",
                "white",
                "one pixel",
                "transparent",
                "transparent but coloured",
                "noise",
                "noise, opaque RGBA",
                "empty",
                "1-D",
                "4-D",
                "zero channels",
            ]
        )
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    channels = draw(st.sampled_from([0, 1, 2, 3, 4]))  # 0: a grey (H, W) image
    if kind == "black":
        return _blank(size, 0, channels)
    if kind == "white":
        return _blank(size, 255, channels)
    if kind == "one pixel":
        image = _blank(size, 255, channels)
        image[rng.integers(size), rng.integers(size)] = 0
        if channels in (2, 4):
            image[..., -1] = 255
        return image
    if kind == "transparent":
        return np.zeros((size, size, 4), np.uint8)
    if kind == "transparent but coloured":
        image = rng.integers(0, 256, (size, size, 4), dtype=np.uint8)
        image[..., 3] = 0
        return image
    if kind == "noise":
        return rng.integers(0, 256, (size, size, channels) if channels else (size, size)).astype(
            np.uint8
        )
    if kind == "noise, opaque RGBA":
        image = rng.integers(0, 256, (size, size, 4), dtype=np.uint8)
        image[..., 3] = 255
        return image
    if kind == "empty":
        return np.zeros(draw(st.sampled_from([(0, 0), (0, size), (size, 0), (0, 0, 4)])), np.uint8)
    if kind == "1-D":
        return np.zeros(size, np.uint8)
    if kind == "4-D":
        return np.zeros((1, size, size, 4), np.uint8)
    return np.zeros((size, size, 0), np.uint8)  # zero channels


PIL_MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "I", "F", "I;16", "CMYK", "YCbCr", "HSV", "PA"]


@st.composite
def pil_images(draw):
    """A PIL image in any common mode, blank or with random pixels."""
    mode = draw(st.sampled_from(PIL_MODES))
    width, height = draw(st.integers(1, 120)), draw(st.integers(1, 120))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    grey = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8))
    if draw(st.booleans()):
        grey = Image.new("L", (width, height), draw(st.integers(0, 255)))
    if mode == "PA":
        return grey.convert("P").convert("PA")
    return grey.convert(mode) if mode not in ("I;16",) else grey.convert("I").convert("I;16")


@st.composite
def data_urls(draw):
    """What the pad sends (a PNG data URL) made from any image, or one corrupted on the way:
    cut short, with bytes flipped, another prefix, or random text."""
    image = draw(pil_images())
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")  # modes PNG cannot hold (F, CMYK, ...)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    png = bytearray(buffer.getvalue())
    damage = draw(st.sampled_from(["none", "cut", "flip", "prefix", "text"]))
    if damage == "cut":
        png = png[: draw(st.integers(0, len(png)))]
    elif damage == "flip":
        for _ in range(draw(st.integers(1, 8))):
            png[draw(st.integers(0, len(png) - 1))] ^= 0xFF
    text = base64.b64encode(bytes(png)).decode("ascii")
    if damage == "prefix":
        return draw(st.sampled_from(["data:image/jpeg;base64,", "data:,", ""])) + text
    if damage == "text":
        return "data:image/png;base64," + draw(st.text(max_size=40))
    return "data:image/png;base64," + text


PARTS = ["background", "layers", "composite", "id"]


@st.composite
def sketchpad_dicts(draw):
    """Sketchpad-like dicts: any subset of the keys, layers None or arrays, odd values."""
    size = draw(st.sampled_from([1, 28, 280]) | st.integers(1, 64))
    arrays = st.one_of(
        st.none(),
        st.just(np.zeros((size, size, 4), np.uint8)),  # transparent
        st.just(np.full((size, size, 4), 255, np.uint8)),  # opaque white
        small_arrays(),
        special_images(),
    )
    keys = draw(st.lists(st.sampled_from(PARTS), unique=True))
    value = {}
    for key in keys:
        if key == "layers":
            value[key] = draw(st.one_of(st.none(), st.lists(arrays, max_size=3)))
        elif key == "id":
            value[key] = draw(st.none() | st.text(max_size=5))
        else:
            value[key] = draw(arrays)
    return value


# Things that are not images at all, or are nearly.
NOT_IMAGES = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.binary(max_size=10),
    st.lists(st.lists(st.integers(0, 255), min_size=1, max_size=5), max_size=5),
    st.builds(lambda: np.array(["a", "b"])),  # strings
    st.builds(lambda: np.zeros((5, 5), dtype=complex)),
    st.builds(lambda: np.full((5, 5), None, dtype=object)),
    st.builds(lambda: torch.rand(28, 28)),
    st.builds(lambda: torch.zeros(1, 28, 28)),
)


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------


@fuzz(max_examples=1000)
@given(small_arrays())
def test_random_arrays(image):
    check_model_input(image)
    check_answer(image)


@fuzz(max_examples=60)
@given(large_arrays())
@example(np.full((4000, 4000), 255, np.uint8))  # all white, the largest size
@example(np.zeros((4000, 4000, 4), np.uint8))  # transparent, the largest size
@example(np.zeros((1, 1), np.uint8))
@example(_big_drawing())  # a stroke in a corner of the largest size
@example(np.zeros((4000, 4000, 6), np.uint8))  # the largest size, six channels
def test_large_and_tiny_arrays(image):
    check_answer(image)


@fuzz(max_examples=500)
@given(special_images())
def test_blank_transparent_noise_and_odd_shapes(image):
    check_model_input(image)
    check_answer(image)


@fuzz(max_examples=300)
@given(pil_images())
def test_pil_images_in_any_mode(image):
    check_answer(image)


@fuzz(max_examples=400)
@given(data_urls())
@example("")  # a cleared pad
@example("data:image/png;base64,")
def test_data_urls_whole_or_damaged(value):
    check_model_input(value)
    check_answer(value)


@fuzz(max_examples=500)
@given(sketchpad_dicts())
@example({})
@example({"background": None, "layers": [None], "composite": None})
@example({"layers": [None, None]})
@example({"background": np.full((280, 280, 4), 255, np.uint8)})  # no layers, no composite
def test_sketchpad_dicts_with_missing_or_empty_parts(value):
    check_answer(value)


@fuzz(max_examples=200)
@given(NOT_IMAGES)
def test_things_that_are_not_images(value):
    check_answer(value)


@fuzz(max_examples=300)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "background": NOT_IMAGES,
            "layers": NOT_IMAGES | st.lists(NOT_IMAGES, max_size=2),
            "composite": NOT_IMAGES,
        },
    )
)
@example({"layers": np.zeros((28, 28, 4), np.uint8)})  # one layer, not in a list
@example({"layers": 1})
def test_sketchpad_dicts_holding_junk(value):
    check_answer(value)


def test_the_empty_canvas_is_a_value_error_with_a_message():
    """The refusal the UI turns into "Draw a digit": an EmptyCanvasError is a ValueError."""
    from mnist_demo.preprocess import EmptyCanvasError

    for blank in (None, np.zeros((280, 280, 4), np.uint8), np.full((28, 28), 255, np.uint8)):
        with pytest.raises(EmptyCanvasError, match="draw a digit"):
            predict_probabilities(blank)
    assert issubclass(EmptyCanvasError, ValueError)
