"""How good is a trained model? Accuracy, the confusion matrix, its surest mistakes, and the
hidden units that died, all from one pass over a test set.

    accuracy = evaluate(model, test_set)           # 0..1
    evaluation = evaluate_fully(model, test_set)   # all of the above
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_demo.constants import NUM_CLASSES
from mnist_demo.data import MNISTTensors, normalize

GALLERY_SIZE = 24  # misclassified test digits kept, the surest first


@torch.inference_mode()
def predict_dataset(
    model: nn.Module, dataset: MNISTTensors, batch_size: int = 2000
) -> torch.Tensor:
    """Logits for every image of a dataset, (N, 10), in evaluation mode."""
    was_training = model.training
    model.eval()
    logits = torch.cat(
        [
            model(normalize(dataset.images[i : i + batch_size]))
            for i in range(0, len(dataset), batch_size)
        ]
    )
    model.train(was_training)
    return logits


def evaluate(model: nn.Module, dataset: MNISTTensors) -> float:
    """Accuracy (0..1) on a dataset."""
    predictions = predict_dataset(model, dataset).argmax(dim=1)
    return (predictions == dataset.labels).float().mean().item()


def loss_and_accuracy(model: nn.Module, dataset: MNISTTensors) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on a dataset: the test loss beside the training loss
    shows when a network starts to learn its training images by heart (overfitting)."""
    logits = predict_dataset(model, dataset)  # (N, 10)
    loss = F.cross_entropy(logits, dataset.labels).item()
    return loss, (logits.argmax(dim=1) == dataset.labels).float().mean().item()


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """(10, 10) counts: row = true digit, column = predicted digit."""
    index = targets * NUM_CLASSES + predictions
    return torch.bincount(index, minlength=NUM_CLASSES * NUM_CLASSES).view(NUM_CLASSES, NUM_CLASSES)


def logits_and_dead_units(model: nn.Module, dataset: MNISTTensors) -> tuple[torch.Tensor, int]:
    """`predict_dataset`'s logits (N, 10), and the dead ReLU units seen in the same pass.

    A unit is dead when it outputs 0 for every image: its gradient is 0 for every image too
    (ReLU is flat below 0), so no later step can bring it back. A forward hook on
    `model.relu` looks at the hidden layer's output of every batch.
    """
    alive = torch.zeros(model.fc1.out_features, dtype=torch.bool)

    def note_alive(module, inputs, output) -> None:  # output: (batch, hidden)
        alive.logical_or_(output.amax(dim=0) > 0)

    hook = model.relu.register_forward_hook(note_alive)
    try:
        logits = predict_dataset(model, dataset)
    finally:
        hook.remove()
    return logits, int((~alive).sum())


def count_dead_units(model: nn.Module, dataset: MNISTTensors) -> int:
    """Hidden ReLU units that output 0 for every image of `dataset`."""
    return logits_and_dead_units(model, dataset)[1]


@dataclass(frozen=True)
class Mistake:
    """One misclassified test image."""

    index: int  # position in the test set
    image: np.ndarray  # (28, 28) 0..1, white digit on black
    target: int
    predicted: int
    confidence: float  # softmax probability of the predicted digit

    @property
    def caption(self) -> str:
        """Short enough for a gallery tile: "2 -> 7 (93%)" is a 2 taken for a 7, 93% sure."""
        return f"{self.target} -> {self.predicted} ({self.confidence:.0%})"


@dataclass(frozen=True)
class Evaluation:
    """How a trained model does on a whole test set."""

    test_accuracy: float
    confusion: torch.Tensor  # (10, 10) counts: row = true digit, column = predicted digit
    mistakes: list[Mistake]  # the most confident mistakes first
    test_images: int
    dead_units: int  # hidden ReLU units that output 0 for every test image
    hidden_units: int


def evaluate_fully(
    model: nn.Module, test_set: MNISTTensors, gallery_size: int = GALLERY_SIZE
) -> Evaluation:
    """Accuracy, confusion matrix, the surest mistakes and the dead ReLU units (one pass)."""
    logits, dead_units = logits_and_dead_units(model, test_set)  # (N, 10), int
    confidences, predictions = torch.softmax(logits, dim=1).max(dim=1)  # (N,), (N,)
    targets = test_set.labels
    wrong = (predictions != targets).nonzero().squeeze(1)  # indices of the mistakes
    worst = wrong[confidences[wrong].argsort(descending=True)[:gallery_size]]
    mistakes = [
        Mistake(
            index=int(i),
            image=test_set.images[i, 0].numpy().copy(),  # (28, 28)
            target=int(targets[i]),
            predicted=int(predictions[i]),
            confidence=float(confidences[i]),
        )
        for i in worst
    ]
    return Evaluation(
        test_accuracy=(predictions == targets).float().mean().item(),
        confusion=confusion_matrix(targets, predictions),
        mistakes=mistakes,
        test_images=len(test_set),
        dead_units=dead_units,
        hidden_units=model.fc1.out_features,
    )
