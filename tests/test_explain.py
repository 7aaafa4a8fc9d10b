"""Why this answer: the pixel parts and the bias part add up to the logit, checked against
the model itself and against torch.autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mnist_demo.data import normalize
from mnist_demo.explain import (
    BLANK_PIXEL,
    first_layer_templates,
    hidden_activations,
    logit_parts,
)
from mnist_demo.model import make_model, make_sequential
from mnist_demo.predict import shipped_model
from mnist_demo.preprocess import to_mnist_image, to_model_input

from drawings import CENTERED, SMALL_CORNER, draw_layer

DRAWN_DIGITS = [0, 1, 4, 7]


def random_input(seed: int) -> torch.Tensor:
    """A normalised input (1, 1, 28, 28) from random pixels in 0..1."""
    generator = torch.Generator().manual_seed(seed)
    return normalize(torch.rand(1, 1, 28, 28, generator=generator))


def drawn_input(digit: int, box=CENTERED) -> torch.Tensor:
    return to_model_input(draw_layer(digit, box))


def gradient_times_input(model, x: torch.Tensor, digit: int) -> torch.Tensor:
    """x * d logit / d x by autograd, (28, 28): the pixel parts of a piecewise-linear net."""
    x = x.clone().requires_grad_(True)
    logit = model(x)[0, digit]
    (gradient,) = torch.autograd.grad(logit, x)
    return (x * gradient).detach().reshape(28, 28)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_parts_add_up_to_the_logit_for_random_models_and_inputs(seed):
    model = make_model(seed=seed)
    for x in (
        random_input(seed),
        torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(seed)),
    ):
        logits = model(x)[0]  # (10,)
        for digit in range(10):
            pixels, bias = logit_parts(model, x, digit)
            assert pixels.shape == (28, 28)
            assert isinstance(bias, float)
            assert pixels.sum().item() + bias == pytest.approx(logits[digit].item(), abs=1e-4)


@pytest.mark.parametrize("box", [CENTERED, SMALL_CORNER])
@pytest.mark.parametrize("drawn", DRAWN_DIGITS)
def test_parts_add_up_to_the_logit_for_drawn_digits(drawn, box):
    model = shipped_model()
    x = drawn_input(drawn, box)
    logits = model(x)[0]
    for digit in range(10):
        pixels, bias = logit_parts(model, x, digit)
        assert pixels.sum().item() + bias == pytest.approx(logits[digit].item(), abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pixel_parts_are_gradient_times_input_for_random_models(seed):
    model = make_model(seed=seed)
    x = random_input(seed + 10)
    for digit in range(10):
        pixels, bias = logit_parts(model, x, digit)
        by_autograd = gradient_times_input(model, x, digit)
        assert torch.allclose(pixels, by_autograd, atol=1e-5)
        # ... and the bias part is what is left of the logit.
        assert bias == pytest.approx(model(x)[0, digit].item() - by_autograd.sum().item(), abs=1e-4)


@pytest.mark.parametrize("drawn", DRAWN_DIGITS)
def test_pixel_parts_are_gradient_times_input_for_drawn_digits(drawn):
    model = shipped_model()
    x = drawn_input(drawn)
    for digit in range(10):
        pixels, _ = logit_parts(model, x, digit)
        assert torch.allclose(pixels, gradient_times_input(model, x, digit), atol=1e-5)


def test_the_sequential_form_gives_the_same_parts():
    model = shipped_model()
    sequential = make_sequential()
    sequential.load_state_dict(model.state_dict())
    x = drawn_input(4)
    for digit in range(10):
        pixels, bias = logit_parts(model, x, digit)
        pixels_seq, bias_seq = logit_parts(sequential, x, digit)
        assert torch.equal(pixels, pixels_seq) and bias == bias_seq


def test_the_blank_background_pushes_too():
    layer = draw_layer(7, CENTERED)
    blank = torch.from_numpy(to_mnist_image(layer) == 0)  # (28, 28) pixels with no ink at all
    x = to_model_input(layer)
    assert round(BLANK_PIXEL, 2) == -0.42  # (0 - 0.1307) / 0.3081
    assert blank.sum() > 28 * 28 / 2  # most of a digit's picture is background
    assert torch.allclose(x[0, 0][blank], torch.tensor(BLANK_PIXEL))  # -0.42, not 0
    model = shipped_model()
    for digit in range(10):
        pixels, _ = logit_parts(model, x, digit)
        background = pixels[blank]
        assert (background != 0).sum() > blank.sum() / 2  # most blank pixels have a part
        assert background.abs().sum() > 0.5  # and together they matter (logits are ~10)


def test_no_gradients_are_recorded_and_the_model_is_untouched():
    model = make_model(seed=0)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    x = random_input(0).requires_grad_(True)
    pixels, _ = logit_parts(model, x, 3)
    activations = hidden_activations(model, x)
    assert not pixels.requires_grad and pixels.grad_fn is None
    assert not activations.requires_grad
    assert x.grad is None and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[name], t) for name, t in model.state_dict().items())


def test_hidden_activations_are_the_relu_outputs():
    model = shipped_model()
    x = drawn_input(7)
    activations = hidden_activations(model, x)
    assert activations.shape == (128,)
    flat = x.reshape(1, 784)
    by_hand = F.linear(flat, model.fc1.weight, model.fc1.bias).clamp(min=0)[0]
    assert torch.allclose(activations, by_hand, atol=1e-6)
    assert (activations >= 0).all()
    assert 0 < (activations == 0).sum() < 128  # some units switched off, some on
    # The second layer on these 128 numbers gives the model's logits.
    assert torch.allclose(model.fc2(activations), model(x)[0], atol=1e-5)


def test_hidden_activations_follow_the_hidden_width():
    model = make_model(hidden_size=32, seed=0)
    assert hidden_activations(model, random_input(0)).shape == (32,)


def test_first_layer_templates_are_fc1_rows_as_images():
    model = shipped_model()
    templates = first_layer_templates(model)
    assert templates.shape == (128, 28, 28)
    assert torch.equal(templates, model.fc1.weight.detach().reshape(128, 28, 28))
    assert torch.equal(templates[5].reshape(-1), model.fc1.weight[5].detach())  # row 5 = unit 5
    assert not templates.requires_grad
    assert first_layer_templates(make_model(hidden_size=32)).shape == (32, 28, 28)


def test_first_layer_templates_are_a_copy():
    model = make_model(seed=0)
    first_layer_templates(model).zero_()  # changing the tiles leaves the model alone
    assert model.fc1.weight.abs().sum() > 0


@pytest.mark.parametrize("digit", [-1, 10, 2.0, "3", True, None])
def test_a_digit_outside_0_to_9_is_refused(digit):
    with pytest.raises(ValueError, match="digit"):
        logit_parts(make_model(seed=0), random_input(0), digit)


def test_numpy_integers_are_digits_too():
    model = make_model(seed=0)
    x = random_input(0)
    pixels, bias = logit_parts(model, x, np.int64(3))
    assert pixels.sum().item() + bias == pytest.approx(model(x)[0, 3].item(), abs=1e-4)


@pytest.mark.parametrize(
    "x",
    [
        torch.zeros(1, 784),
        torch.zeros(28, 28),
        torch.zeros(2, 1, 28, 28),
        torch.zeros(1, 1, 14, 14),
        np.zeros((1, 1, 28, 28), dtype=np.float32),
    ],
    ids=["flat", "28x28", "batch-of-2", "14x14", "numpy"],
)
def test_a_wrong_input_is_refused(x):
    model = make_model(seed=0)
    with pytest.raises(ValueError, match=r"x must .*\(1, 1, 28, 28\)"):
        logit_parts(model, x, 0)
    with pytest.raises(ValueError, match=r"x must .*\(1, 1, 28, 28\)"):
        hidden_activations(model, x)
