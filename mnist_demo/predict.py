"""A drawing in, ten probabilities out.

    from mnist_demo.predict import predict_probabilities
    predict_probabilities(canvas)   # {"0": 0.001, ..., "7": 0.97, ...}, sums to 1

The shipped model is loaded once per process and only ever read, so every student (every
thread of the app) can use it at the same time.
"""

import functools
import json
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_demo.checkpoint import load_model, metadata_path
from mnist_demo.constants import CLASS_NAMES, SHIPPED_CHECKPOINT
from mnist_demo.preprocess import image_to_tensor, preprocess_stages
from mnist_demo.stroke_width import EvenStrokes


@dataclass(frozen=True)
class Prediction:
    """What the network makes of one drawing."""

    image: np.ndarray  # (28, 28) 0..1, what the network sees
    logits: torch.Tensor  # (10,) raw scores
    probabilities: torch.Tensor  # (10,) softmax(logits), sums to 1
    log_probabilities: torch.Tensor  # (10,) log_softmax(logits)
    input: torch.Tensor | None = None  # (1, 1, 28, 28) the normalised input, as the network saw it
    strokes: EvenStrokes | None = None  # how thick the strokes were drawn, and if evened out

    @property
    def digit(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    def as_dict(self) -> dict[str, float]:
        return dict(zip(CLASS_NAMES, self.probabilities.tolist(), strict=True))


@functools.cache
def shipped_model() -> nn.Module:
    """The trained model that ships with the app: loaded once, shared read-only."""
    return load_model()


@functools.cache
def shipped_test_accuracy() -> float | None:
    """The shipped model's accuracy on the 10,000 MNIST test images, from its JSON card."""
    try:
        return float(json.loads(metadata_path(SHIPPED_CHECKPOINT).read_text())["test_accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def predict(image, model: nn.Module | None = None) -> Prediction:
    """Preprocess a drawing the MNIST way and run the network on it.

    Raises `EmptyCanvasError` for an empty canvas and `ValueError` for non-images.
    """
    model = model if model is not None else shipped_model()
    stages = preprocess_stages(image)
    return replace(predict_image28(stages.image, model), strokes=stages.strokes)


def predict_image28(image28: np.ndarray, model: nn.Module) -> Prediction:
    """Run the network on an already preprocessed 28x28 picture (0..1)."""
    with torch.inference_mode():
        x = image_to_tensor(image28)  # (1, 1, 28, 28)
        logits = model(x)[0]  # (1, 10) -> (10,)
        return Prediction(
            image=image28,
            input=x,
            logits=logits,
            probabilities=F.softmax(logits, dim=0),
            log_probabilities=F.log_softmax(logits, dim=0),
        )


def predict_probabilities(image, model: nn.Module | None = None) -> dict[str, float]:
    """{"0": p0, ..., "9": p9}: the softmax of the network's logits, summing to 1."""
    return predict(image, model).as_dict()
