"""The lesson's network, written the two ways the lesson writes it.

    image (1, 28, 28) -> flatten -> 784 -> Linear -> 128 -> ReLU -> Linear -> 10 logits

`MNISTClassifier` is the `nn.Module` class; `make_sequential` is the same network as an
`nn.Sequential`. Both name their layers `flatten`, `fc1`, `relu`, `fc2`, so one `state_dict`
loads into either and gives identical outputs. There is no softmax at the end: the ten
outputs are raw scores (logits); softmax is only used to *show* probabilities.
"""

from collections import OrderedDict

import torch
from torch import nn

from mnist_demo.constants import HIDDEN_SIZE, INPUT_SIZE, NUM_CLASSES


class MNISTClassifier(nn.Module):
    """784 -> hidden -> ReLU -> 10, as in the lesson (hidden = 128)."""

    def __init__(self, hidden_size: int = HIDDEN_SIZE) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(INPUT_SIZE, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)  # (B, 1, 28, 28) -> (B, 784)
        x = self.fc1(x)  # (B, 128)
        x = self.relu(x)  # (B, 128), negatives set to 0
        logits = self.fc2(x)  # (B, 10) raw scores, one per digit
        return logits


def make_sequential(hidden_size: int = HIDDEN_SIZE) -> nn.Sequential:
    """The same network as an `nn.Sequential`, with the same layer names."""
    return nn.Sequential(
        OrderedDict(
            flatten=nn.Flatten(),
            fc1=nn.Linear(INPUT_SIZE, hidden_size),
            relu=nn.ReLU(),
            fc2=nn.Linear(hidden_size, NUM_CLASSES),
        )
    )


def make_model(hidden_size: int = HIDDEN_SIZE, seed: int | None = None) -> MNISTClassifier:
    """A freshly initialised classifier; with a seed, the same weights every time.

    The seed is used inside `torch.random.fork_rng`, so the global random state of the
    caller (and of other students' runs) is left exactly as it was.
    """
    if seed is None:
        return MNISTClassifier(hidden_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MNISTClassifier(hidden_size)


def count_parameters(model: nn.Module) -> int:
    """Number of learnable numbers: 784*128 + 128 + 128*10 + 10 = 101,770 for the lesson."""
    return sum(p.numel() for p in model.parameters())


def hidden_size_of(state_dict: dict[str, torch.Tensor]) -> int:
    """Read the hidden width back from a state_dict (fc1.weight has shape (hidden, 784))."""
    return int(state_dict["fc1.weight"].shape[0])
