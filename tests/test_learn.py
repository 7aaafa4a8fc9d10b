"""Learn from this drawing: the loss falls, the caller's model never changes, and the steps
are the lesson's loop run by hand."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mnist_demo.data import first_images, load_mnist
from mnist_demo.evaluate import evaluate
from mnist_demo.learn import MAX_STEPS, learn_from_drawing
from mnist_demo.model import make_model
from mnist_demo.predict import shipped_model
from mnist_demo.preprocess import EmptyCanvasError, to_model_input
from mnist_demo.train import OPTIMIZERS

from drawings import CENTERED, canvas_data_url, draw_layer

SEVEN = draw_layer(7, CENTERED)  # the shipped model reads it as a 7
WRONG_LABEL = 1  # a label the shipped model does not give it


def seven() -> torch.Tensor:
    return to_model_input(SEVEN)  # (1, 1, 28, 28)


def snapshot(model) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def same_weights(model, state_dict: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(state_dict[name], t) for name, t in model.state_dict().items())


def lesson_loop(model, images, targets, optimizer, steps: int):
    """The lesson's training loop, written out by hand (no mnist_demo code)."""
    for _ in range(steps):
        optimizer.zero_grad()
        logits = model(images)
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        optimizer.step()


def test_the_shipped_model_gets_the_drawing_wrong_for_the_label():
    assert shipped_model()(seven()).argmax().item() == 7 != WRONG_LABEL


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("digit", [WRONG_LABEL, 3])
def test_learning_lowers_this_drawings_loss(optimizer, digit):
    result = learn_from_drawing(shipped_model(), seven(), digit, optimizer=optimizer)
    assert result.loss_after < result.loss_before - 1.0  # far from 0: a clear fall
    assert result.probabilities_after[digit] > result.probabilities_before[digit]


def test_ten_adam_steps_change_the_answer():
    result = learn_from_drawing(shipped_model(), seven(), WRONG_LABEL, steps=10)
    assert result.probabilities_before.argmax().item() == 7
    assert result.probabilities_after.argmax().item() == WRONG_LABEL
    assert result.loss_after < 0.1


def test_the_true_label_does_not_raise_the_loss():
    result = learn_from_drawing(shipped_model(), seven(), 7)
    assert result.loss_after <= result.loss_before


def test_losses_are_minus_log_p_and_pytorchs_cross_entropy():
    model = shipped_model()
    x = seven()
    result = learn_from_drawing(model, x, WRONG_LABEL)
    targets = torch.tensor([WRONG_LABEL])
    for net, loss, probabilities in (
        (model, result.loss_before, result.probabilities_before),
        (result.model, result.loss_after, result.probabilities_after),
    ):
        with torch.no_grad():
            logits = net(x)  # (1, 10)
        assert probabilities.shape == (10,)
        assert probabilities.sum().item() == pytest.approx(1.0, abs=1e-5)
        assert torch.allclose(probabilities, torch.softmax(logits, dim=1)[0])
        assert loss == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)
        assert loss == pytest.approx(-math.log(probabilities[WRONG_LABEL].item()), rel=1e-4)


def test_the_model_passed_in_is_left_bit_identical():
    model = shipped_model()
    before = snapshot(model)
    result = learn_from_drawing(model, seven(), WRONG_LABEL, steps=10)
    assert same_weights(model, before)
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    assert result.model is not model
    assert not same_weights(result.model, before)  # the new model did learn
    assert not result.model.training  # ready to answer


def test_a_model_in_training_mode_stays_so():
    model = make_model(seed=0).train()
    learn_from_drawing(model, seven(), 2)
    assert model.training


@pytest.mark.parametrize(
    "name, lr, make_torch_optimizer",
    [
        ("adam", 1e-3, lambda parameters: torch.optim.Adam(parameters, lr=1e-3)),
        ("sgd", 1e-3, lambda parameters: torch.optim.SGD(parameters, lr=1e-3)),
        ("sgd", 1e-2, lambda parameters: torch.optim.SGD(parameters, lr=1e-2)),
        ("momentum", 1e-3, lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9)),
    ],
)
def test_ten_steps_are_the_lessons_loop_run_by_hand(name, lr, make_torch_optimizer):
    model = shipped_model()
    x = seven()
    result = learn_from_drawing(model, x, WRONG_LABEL, steps=10, optimizer=name, lr=lr)
    by_hand = copy.deepcopy(model)
    optimizer = make_torch_optimizer(by_hand.parameters())
    lesson_loop(by_hand, x, torch.tensor([WRONG_LABEL]), optimizer, 10)
    for (name_, learnt), (_, expected) in zip(
        result.model.named_parameters(), by_hand.named_parameters(), strict=True
    ):
        assert torch.allclose(learnt, expected, atol=1e-6), name_
    assert (result.steps, result.optimizer, result.lr) == (10, name, lr)


def test_nine_steps_by_hand_are_not_ten():
    """The comparison above can fail: one step fewer is told apart."""
    model = shipped_model()
    x = seven()
    result = learn_from_drawing(model, x, WRONG_LABEL, steps=10)
    by_hand = copy.deepcopy(model)
    optimizer = torch.optim.Adam(by_hand.parameters(), lr=1e-3)
    lesson_loop(by_hand, x, torch.tensor([WRONG_LABEL]), optimizer, 9)
    assert not torch.allclose(result.model.fc1.weight, by_hand.fc1.weight, atol=1e-6)


def test_each_call_starts_a_fresh_optimizer():
    """Adam's moments start at zero in every call: ten calls of one step are not one call of
    ten. Plain SGD keeps no state, so for it they are the same."""
    x = seven()
    for optimizer, same in (("adam", False), ("sgd", True)):
        model = shipped_model()
        for _ in range(10):
            model = learn_from_drawing(model, x, WRONG_LABEL, optimizer=optimizer).model
        at_once = learn_from_drawing(shipped_model(), x, WRONG_LABEL, 10, optimizer).model
        assert torch.allclose(model.fc1.weight, at_once.fc1.weight, atol=1e-6) == same


def test_a_canvas_data_url_and_its_model_input_give_the_same_result():
    model = shipped_model()
    data_url = canvas_data_url(SEVEN)
    from_url = learn_from_drawing(model, data_url, WRONG_LABEL, steps=3)
    from_input = learn_from_drawing(model, to_model_input(data_url), WRONG_LABEL, steps=3)
    from_array = learn_from_drawing(model, SEVEN, WRONG_LABEL, steps=3)
    for other in (from_input, from_array):
        assert other.loss_before == from_url.loss_before
        assert other.loss_after == from_url.loss_after
        assert torch.equal(other.probabilities_after, from_url.probabilities_after)
        assert same_weights(other.model, from_url.model.state_dict())


def test_an_input_made_in_inference_mode_or_with_gradients_off_still_learns():
    with torch.inference_mode():
        x = seven()  # as the stroke answer makes it
    result = learn_from_drawing(shipped_model(), x, WRONG_LABEL)
    assert result.loss_after < result.loss_before
    with torch.no_grad():
        result = learn_from_drawing(shipped_model(), seven(), WRONG_LABEL)
    assert result.loss_after < result.loss_before


@pytest.mark.parametrize(
    "argument, value",
    [
        ("digit", -1),
        ("digit", 10),
        ("digit", 1.5),
        ("digit", "3"),
        ("digit", True),
        ("steps", 0),
        ("steps", MAX_STEPS + 1),
        ("steps", 2.5),
        ("steps", True),
        ("optimizer", "rmsprop"),
        ("optimizer", None),
        ("lr", 0),
        ("lr", -1e-3),
        ("lr", 1.5),
        ("lr", float("nan")),
        ("lr", float("inf")),
        ("lr", "0.1"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(argument, value):
    arguments = {"digit": 3, "steps": 1, "optimizer": "adam", "lr": 1e-3} | {argument: value}
    with pytest.raises(ValueError, match=f"^{argument} "):
        learn_from_drawing(make_model(seed=0), seven(), **arguments)


def test_the_step_limit_itself_is_allowed():
    result = learn_from_drawing(make_model(seed=0), seven(), 3, steps=MAX_STEPS, lr=1.0)
    assert result.steps == MAX_STEPS and math.isfinite(result.loss_after)


def test_bad_images_are_refused():
    model = make_model(seed=0)
    with pytest.raises(EmptyCanvasError):
        learn_from_drawing(model, np.zeros((280, 280, 4), np.uint8), 3)
    with pytest.raises(ValueError, match="image"):
        learn_from_drawing(model, torch.full((1, 1, 28, 28), float("nan")), 3)
    with pytest.raises(ValueError):
        learn_from_drawing(model, "data:image/jpeg;base64,AAAA", 3)


@pytest.mark.slow
def test_over_teaching_one_drawing_costs_held_out_accuracy(mnist_dir):
    """What the lesson should show: ten steps on one wrongly labelled drawing make the model
    sure of it, and worse on 1,000 held-out test digits."""
    held_out = first_images(load_mnist(train=False), 1000)
    result = learn_from_drawing(shipped_model(), seven(), WRONG_LABEL, steps=10)
    assert evaluate(result.model, held_out) < evaluate(shipped_model(), held_out) - 0.05
