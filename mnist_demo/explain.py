"""Why this answer? Each logit split into one part per pixel plus a bias part, and a look
inside the network (the hidden ReLU outputs, and what each hidden unit looks for).

    pixels, bias = logit_parts(model, x, digit=7)   # (28, 28) tensor and a float
    pixels.sum() + bias                             # == model(x)[0, 7], the logit of 7

The lesson's network is Linear -> ReLU -> Linear, so it is *piecewise* linear: for one input
the ReLU lets some hidden units through (those with fc1(x) > 0) and sets the others to 0.
With that on/off pattern m fixed, the whole network is a single linear function of the
pixels, and every logit is a sum with one term per pixel:

    logit_d = sum over pixels i of x_i * w_i  +  bias part
        w         = (fc2.weight[d] * m) @ fc1.weight      one weight per pixel, (784,)
        bias part = fc2.weight[d] . (m * fc1.bias) + fc2.bias[d]

Pixel i's part is x_i * w_i: positive pushes towards digit d, negative pushes away from it.
The empty background pushes too: normalisation makes a blank pixel
(0 - 0.1307) / 0.3081 = -0.42, not 0, so it is multiplied by the weights like any other pixel.
"""

import numbers

import torch
from torch import nn

from mnist_demo.constants import IMAGE_SIZE, MNIST_MEAN, MNIST_STD, NUM_CLASSES

# What an empty (black) pixel becomes after normalisation: about -0.42.
BLANK_PIXEL = (0.0 - MNIST_MEAN) / MNIST_STD
INPUT_SHAPE = (1, 1, IMAGE_SIZE, IMAGE_SIZE)


def logit_parts(model: nn.Module, x: torch.Tensor, digit: int) -> tuple[torch.Tensor, float]:
    """Split the logit of `digit` for input `x` into (pixel parts (28, 28), bias part).

    `x` is one normalised input of shape (1, 1, 28, 28). The parts add up to the logit:
    `pixels.sum() + bias == model(x)[0, digit]` (up to float rounding). The model is only
    read, and no gradients are recorded.
    """
    digit = check_digit(digit)
    check_input(x)
    with torch.no_grad():
        pixels = x.reshape(-1)  # (784,)
        on = (model.fc1(pixels) > 0).to(pixels.dtype)  # (hidden,) 1 where the ReLU lets through
        row = model.fc2.weight[digit] * on  # (hidden,) how much each active unit adds to digit
        weights = row @ model.fc1.weight  # (784,) one weight per pixel for this input
        bias = row @ model.fc1.bias + model.fc2.bias[digit]  # () everything not from a pixel
        return (pixels * weights).reshape(IMAGE_SIZE, IMAGE_SIZE), float(bias)


def hidden_activations(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The hidden layer's ReLU outputs for input `x` (1, 1, 28, 28): a tensor (hidden,).

    A 0 is a unit the ReLU switched off for this drawing.
    """
    check_input(x)
    with torch.no_grad():
        return model.relu(model.fc1(model.flatten(x)))[0]  # (1, hidden) -> (hidden,)


def first_layer_templates(model: nn.Module) -> torch.Tensor:
    """fc1's weight rows as 28x28 images, (hidden, 28, 28): what each hidden unit looks for.

    A hidden unit's input is the sum of pixel * weight, so it is large for drawings with ink
    where its weights are positive (and blank, -0.42, where they are negative). A copy: the
    model's weights are not shared with the caller.
    """
    weight = model.fc1.weight.detach()  # (hidden, 784)
    return weight.reshape(-1, IMAGE_SIZE, IMAGE_SIZE).clone()


def check_digit(digit) -> int:
    """`digit` as an int, or a ValueError when it is not a whole number 0..9."""
    if (
        isinstance(digit, bool)
        or not isinstance(digit, numbers.Integral)
        or not 0 <= digit < NUM_CLASSES
    ):
        raise ValueError(f"digit must be a whole number from 0 to 9, got {digit!r}.")
    return int(digit)


def check_input(x) -> None:
    """A ValueError unless `x` is one normalised input: a tensor of shape (1, 1, 28, 28)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(
            f"x must be the model input, a tensor of shape {INPUT_SHAPE} (see "
            f"mnist_demo.preprocess.to_model_input), got {type(x).__name__}."
        )
    if tuple(x.shape) != INPUT_SHAPE:
        raise ValueError(
            f"x must have shape {INPUT_SHAPE} (one normalised 28x28 image), got {tuple(x.shape)}."
        )
