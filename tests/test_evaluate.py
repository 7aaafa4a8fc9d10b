"""How good a trained model is: accuracy, the confusion matrix, its surest mistakes and its
dead hidden units."""

import pytest
import torch

from mnist_demo.data import normalize
from mnist_demo.evaluate import (
    GALLERY_SIZE,
    confusion_matrix,
    count_dead_units,
    evaluate,
    evaluate_fully,
    logits_and_dead_units,
    loss_and_accuracy,
    predict_dataset,
)
from mnist_demo.model import make_model
from mnist_demo.train import TrainConfig, train

from conftest import blobs


def trained_a_little(steps: int = 8):
    """A model that gets some blobs right and some wrong."""
    model = make_model(32, seed=0)
    list(train(model, blobs(), TrainConfig(max_steps=steps, batch_size=32, lr=1e-3)))
    return model


def test_confusion_matrix_counts():
    targets = torch.tensor([0, 0, 1, 2, 2, 2])
    predictions = torch.tensor([0, 1, 1, 2, 2, 0])
    matrix = confusion_matrix(targets, predictions)
    assert matrix.shape == (10, 10) and matrix.sum() == 6
    assert matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[2, 2] == 2 and matrix[2, 0] == 1


def test_evaluate_is_the_share_of_right_answers_and_keeps_the_mode():
    model, data = trained_a_little(), blobs(200, seed=1)
    model.train()
    by_hand = model(normalize(data.images)).argmax(dim=1)
    logits = predict_dataset(model, data, batch_size=64)  # in batches, in evaluation mode
    assert logits.shape == (200, 10) and torch.equal(logits.argmax(dim=1), by_hand)
    assert evaluate(model, data) == (by_hand == data.labels).float().mean().item()
    assert model.training  # measuring does not switch a training model off


def test_dead_relu_units_are_counted():
    """Units whose pre-activation is negative for every image output 0: "dead"."""
    model = make_model(16, seed=0)
    images = blobs(200)
    assert count_dead_units(model, images) == 0
    with torch.no_grad():
        model.fc1.bias[:5] = -1e6  # five units pushed far below 0
    assert count_dead_units(model, images) == 5
    hidden = torch.relu(model.fc1(normalize(images.images).flatten(1)))
    assert int((hidden.sum(dim=0) == 0).sum()) == 5  # the same, from PyTorch directly


def test_dead_units_come_with_the_same_logits():
    model, data = make_model(16, seed=0), blobs(300)
    with torch.no_grad():
        model.fc1.bias[:3] = -1e6
    logits, dead = logits_and_dead_units(model, data)
    assert torch.equal(logits, predict_dataset(model, data)) and dead == 3
    assert not model.relu._forward_hooks  # the hook is gone again


def test_a_full_evaluation_agrees_with_its_parts():
    model, data = trained_a_little(), blobs(300, seed=2)
    evaluation = evaluate_fully(model, data, gallery_size=5)
    predictions = predict_dataset(model, data).argmax(dim=1)
    assert evaluation.test_accuracy == evaluate(model, data)
    assert 0.1 < evaluation.test_accuracy < 1  # some right, some wrong: a gallery to show
    assert torch.equal(evaluation.confusion, confusion_matrix(data.labels, predictions))
    assert evaluation.test_images == 300
    assert evaluation.hidden_units == 32 and evaluation.dead_units == count_dead_units(model, data)

    mistakes = evaluation.mistakes
    assert len(mistakes) == 5  # the gallery's size, not every mistake
    confidences = [m.confidence for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    wrong = (predictions != data.labels).nonzero().squeeze(1)
    probabilities = torch.softmax(predict_dataset(model, data), dim=1).amax(dim=1)
    assert confidences[0] == probabilities[wrong].max().item()  # the surest mistake first
    for m in mistakes:
        assert m.target == data.labels[m.index] != m.predicted == predictions[m.index]
        assert (m.image == data.images[m.index, 0].numpy()).all() and m.image.shape == (28, 28)
        assert m.caption == f"{m.target} -> {m.predicted} ({m.confidence:.0%})"


def test_the_gallery_holds_at_most_gallery_size_mistakes():
    model, data = make_model(16, seed=0), blobs(300)  # untrained: ~90% wrong
    evaluation = evaluate_fully(model, data)
    assert len(evaluation.mistakes) == GALLERY_SIZE
    perfect = evaluate_fully(trained_a_little(60), blobs(100, seed=1))
    assert perfect.test_accuracy == 1.0 and perfect.mistakes == []


def test_the_test_loss_is_pytorchs_cross_entropy_on_the_logits():
    model, data = make_model(seed=0), blobs(300, seed=2)
    loss, accuracy = loss_and_accuracy(model, data)
    logits = predict_dataset(model, data)
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, data.labels).item())
    assert accuracy == evaluate(model, data)
