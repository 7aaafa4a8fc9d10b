"""The lesson's network: shapes, parameter count, and the two forms agreeing."""

import torch

from mnist_demo.model import MNISTClassifier, count_parameters, make_model, make_sequential


def test_forward_gives_ten_logits_per_image():
    model = MNISTClassifier()
    images = torch.randn(5, 1, 28, 28)
    assert model(images).shape == (5, 10)


def test_layers_are_the_lessons():
    model = MNISTClassifier()
    assert [name for name, _ in model.named_children()] == ["flatten", "fc1", "relu", "fc2"]
    assert (model.fc1.in_features, model.fc1.out_features) == (784, 128)
    assert (model.fc2.in_features, model.fc2.out_features) == (128, 10)


def test_parameter_count_is_101770():
    assert count_parameters(MNISTClassifier()) == 784 * 128 + 128 + 128 * 10 + 10 == 101_770
    assert count_parameters(make_sequential()) == 101_770


def test_module_and_sequential_give_identical_outputs_for_the_same_state_dict():
    module = make_model(seed=3)
    sequential = make_sequential()
    sequential.load_state_dict(module.state_dict())  # same keys: fc1.weight, fc1.bias, ...
    images = torch.rand(8, 1, 28, 28)
    assert torch.equal(module(images), sequential(images))


def test_seeded_model_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first, second = make_model(seed=7), make_model(seed=7)
    assert torch.equal(first.fc1.weight, second.fc1.weight)
    assert torch.equal(torch.rand(1), expected_next)  # global state untouched
    assert not torch.equal(make_model(seed=8).fc1.weight, first.fc1.weight)


def test_no_softmax_at_the_end():
    """Outputs are raw scores: they need not be positive nor sum to 1."""
    logits = make_model(seed=0)(torch.rand(4, 1, 28, 28))
    assert not torch.allclose(logits.sum(dim=1), torch.ones(4))
