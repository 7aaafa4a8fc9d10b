"""The MNIST recipe for drawings: ink, crop, stroke width, scale to 20 px, centre of mass,
normalise."""

import numpy as np
import pytest
import torch
from PIL import Image

from mnist_demo.constants import DIGIT_BOX, MNIST_MEAN, MNIST_STD
from mnist_demo.preprocess import (
    EmptyCanvasError,
    center_of_mass,
    preprocess_stages,
    to_mnist_image,
    to_model_input,
)
from mnist_demo.stroke_width import (
    MNIST_WIDTH_RATIO,
    MNIST_WIDTH_RATIO_HIGH,
    MNIST_WIDTH_RATIO_LOW,
    WORK_SIZE,
)

from drawings import (
    CENTERED,
    SMALL_CORNER,
    composite_rgb,
    draw_layer,
    render_strokes,
    sketchpad_value,
    stroke_points,
)


def test_model_input_is_a_normalised_1x1x28x28_tensor():
    tensor = to_model_input(sketchpad_value(draw_layer(7, CENTERED)))
    assert tensor.shape == (1, 1, 28, 28) and tensor.dtype == torch.float32
    assert tensor.min().item() == pytest.approx((0 - MNIST_MEAN) / MNIST_STD)  # paper
    full_ink = (1 - MNIST_MEAN) / MNIST_STD
    assert 0.9 * full_ink < tensor.max().item() <= full_ink + 1e-5


@pytest.mark.parametrize("digit", [0, 1, 7, 4])
def test_small_in_a_corner_and_large_in_the_middle_give_nearly_the_same_input(digit):
    large = to_mnist_image(sketchpad_value(draw_layer(digit, CENTERED, brush_radius=12)))
    small = to_mnist_image(sketchpad_value(draw_layer(digit, SMALL_CORNER, brush_radius=4)))
    assert np.abs(large - small).mean() < 0.03
    # and clearly different from another digit drawn the same way
    other = to_mnist_image(sketchpad_value(draw_layer(1 if digit != 1 else 0, CENTERED)))
    assert np.abs(large - other).mean() > 2 * np.abs(large - small).mean()


def test_digit_fits_a_20px_box_with_its_centre_of_mass_in_the_middle():
    stages = preprocess_stages(sketchpad_value(draw_layer(7, SMALL_CORNER, brush_radius=4)))
    assert max(stages.scaled.shape) == 20
    rows, cols = np.nonzero(stages.image > 0.15)
    assert rows.max() - rows.min() < 21 and cols.max() - cols.min() < 21
    row, col = center_of_mass(stages.image)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_aspect_ratio_is_kept():
    """A tall thin 1 stays tall and thin: it is not stretched to a square."""
    stages = preprocess_stages(sketchpad_value(draw_layer(1, CENTERED, brush_radius=6)))
    height, width = stages.scaled.shape
    assert height == 20 and width < 12


@pytest.mark.parametrize(
    "ink, paper",
    [((0, 0, 0), (255, 255, 255)), ((255, 255, 255), (0, 0, 0)), ((20, 20, 200), (240, 240, 230))],
    ids=["black-on-white", "white-on-black", "blue-on-cream"],
)
def test_both_polarities_give_the_same_input(ink, paper):
    layer = draw_layer(7, CENTERED)
    expected = to_mnist_image(sketchpad_value(layer))
    picture = composite_rgb(layer, ink=ink, paper=paper)
    assert np.abs(to_mnist_image(picture) - expected).mean() < 0.02
    assert np.abs(to_mnist_image(Image.fromarray(picture)) - expected).mean() < 0.02
    grey = picture.mean(axis=2).astype(np.uint8)
    assert np.abs(to_mnist_image(grey) - expected).mean() < 0.03


def test_transparent_background_uses_the_alpha_channel():
    layer = draw_layer(7, CENTERED)
    white_strokes = layer.copy()
    white_strokes[:, :, :3] = 255  # white ink on a transparent background
    expected = to_mnist_image(layer)
    assert np.abs(to_mnist_image(white_strokes) - expected).mean() < 1e-6
    assert np.abs(to_mnist_image(Image.fromarray(white_strokes, "RGBA")) - expected).mean() < 1e-6


def test_sketchpad_composite_is_used_when_layers_are_missing():
    value = sketchpad_value(draw_layer(7, CENTERED))
    expected = to_mnist_image(value)
    assert np.abs(to_mnist_image({"composite": value["composite"]}) - expected).mean() < 0.02


@pytest.mark.parametrize("canvas_size", [28, 280, 800, 1500])
def test_any_canvas_size(canvas_size):
    scale = canvas_size / 280
    box = tuple(v * scale for v in CENTERED)
    image = to_mnist_image(draw_layer(7, box, canvas_size, brush_radius=max(1, round(12 * scale))))
    reference = to_mnist_image(draw_layer(7, CENTERED))
    assert np.abs(image - reference).mean() < 0.05


@pytest.mark.parametrize(
    "empty",
    [
        None,
        np.zeros((280, 280, 4), np.uint8),  # transparent layer, nothing drawn
        np.full((280, 280, 3), 255, np.uint8),  # blank white
        np.zeros((280, 280), np.uint8),  # blank black
        {
            "background": np.full((280, 280, 4), 255, np.uint8),
            "layers": [np.zeros((280, 280, 4), np.uint8)],
            "composite": np.full((280, 280, 4), 255, np.uint8),
        },
        {"background": None, "layers": [], "composite": None},
    ],
    ids=["None", "transparent", "white", "black", "sketchpad", "sketchpad-none"],
)
def test_empty_canvas_is_refused_with_a_message(empty):
    with pytest.raises(EmptyCanvasError, match="draw a digit"):
        to_model_input(empty)


def test_empty_canvas_error_is_a_value_error():
    assert issubclass(EmptyCanvasError, ValueError)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("a string", "Expected a PNG data URL"),
        ("data:image/png;base64,!!", "not valid base64"),
        ("data:image/png;base64," + "QUJD" * 10, "not a PNG image"),
        ("data:image/png;base64," + "A" * 2_000_000, "too large"),
        (7, "Expected an image"),
        (np.zeros((10, 10, 5), np.uint8), "channels"),
        (np.zeros((2, 2, 2, 2), np.uint8), "shape"),
        (np.full((10, 10), np.nan), "NaN"),
        ({"background": None}, "layers"),
    ],
)
def test_things_that_are_not_images_get_a_clear_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        to_model_input(bad)


@pytest.mark.parametrize("layers", [1, "layer.png", np.zeros((28, 28, 4), np.uint8)])
def test_sketchpad_layers_that_are_not_a_list_are_refused(layers):
    """Regression (found by tests/test_fuzz.py): these raised TypeError / numpy's
    'truth value is ambiguous' instead of a message for the student."""
    with pytest.raises(ValueError, match="list of images"):
        to_model_input({"layers": layers})


def test_sketchpad_layers_of_different_sizes_are_refused():
    layers = [draw_layer(7, CENTERED), draw_layer(7, (5, 5, 50, 60), canvas_size=100)]
    with pytest.raises(ValueError, match="same size"):
        to_model_input({"layers": layers})


# ------------------------------------------------------------------------------------------
# Stroke width: redrawn at MNIST's proportion (measuring it: tests/test_stroke_width.py)
# ------------------------------------------------------------------------------------------


def horizontal_line(length: int, radius: int) -> np.ndarray:
    """A straight stroke of the round brush: `length` px of pen path, 2 * radius wide."""
    left = (280 - length) // 2
    return render_strokes([[(left, 140), (left + length, 140)]], brush_radius=radius, supersample=2)


@pytest.mark.parametrize(
    "length, radius",
    [(120, 3), (120, 4), (80, 16), (120, 22), (120, 24)],
    ids=["thin-3", "thin-4", "bold-16", "bold-22", "bold-24"],
)
def test_a_line_too_thin_or_too_bold_comes_out_as_wide_as_mnists(length, radius):
    """A horizontal line: its redrawn stroke is (width) thick across and (path + width) long
    along its middle, so thick / long is its proportion, whatever the brush drew."""
    stages = preprocess_stages(horizontal_line(length, radius))
    drawn_ratio = (2 * radius + 1) / (length + 2 * radius + 1)  # PIL draws one pixel more
    assert not MNIST_WIDTH_RATIO_LOW <= drawn_ratio <= MNIST_WIDTH_RATIO_HIGH
    assert stages.strokes.changed
    # measured on the WORK_SIZE copy: within a pixel and a half of it
    assert stages.strokes.ratio == pytest.approx(drawn_ratio, abs=1.5 / WORK_SIZE)
    thick, long = stages.strokes.ink.sum(axis=0).max(), stages.strokes.ink.sum(axis=1).max()
    assert thick / long == pytest.approx(MNIST_WIDTH_RATIO, abs=0.015)
    # what the network sees: the line is about MNIST_WIDTH_RATIO * 20 px thick
    thickness = stages.image.sum(axis=0).max()
    assert thickness == pytest.approx(MNIST_WIDTH_RATIO * DIGIT_BOX, abs=0.7)


@pytest.mark.parametrize("digit", [1, 2, 4, 7])
def test_a_small_bold_digit_looks_like_the_same_digit_drawn_with_the_default_brush(digit):
    """About a third of the pad's height with the boldest brush: thinned, it is closer to the
    same strokes drawn with the default brush than the bold blob is. (Not a 3, 5 or 8 this
    small: where the brush is wider than a bend or a loop, the ink fills it, and thinning
    cannot open it again.)"""
    small = stroke_points(digit, (150, 160, 230, 260))
    default = to_mnist_image(render_strokes(small, brush_radius=12, supersample=2))
    bold = render_strokes(small, brush_radius=24, supersample=2)
    thinned = to_mnist_image(bold)
    as_drawn = preprocess_stages(bold, even_stroke_width=False).image
    assert np.abs(thinned - default).mean() < 0.8 * np.abs(as_drawn - default).mean()


def test_strokes_as_wide_as_mnists_are_left_as_drawn():
    """The default brush on a large digit is MNIST-like: the stroke step changes nothing."""
    drawing = draw_layer(7, CENTERED, brush_radius=12)
    stages = preprocess_stages(drawing)
    assert MNIST_WIDTH_RATIO_LOW <= stages.strokes.ratio <= MNIST_WIDTH_RATIO_HIGH
    assert not stages.strokes.changed and stages.strokes.ink is stages.cropped
    assert np.array_equal(stages.image, preprocess_stages(drawing, even_stroke_width=False).image)


def test_a_digit_of_mnists_size_is_left_as_drawn():
    """A 28x28 MNIST-style picture: its bold strokes were made the MNIST way; the stroke step
    leaves it alone (its 1-3 px strokes cannot be measured to better than a pixel)."""
    bold = np.zeros((28, 28), np.uint8)
    bold[4:24, 9:19] = 255  # a bold bar, half as wide as it is tall
    stages = preprocess_stages(bold)
    assert not stages.strokes.changed and stages.strokes.ink is stages.cropped
    assert np.array_equal(stages.image, preprocess_stages(bold, even_stroke_width=False).image)
