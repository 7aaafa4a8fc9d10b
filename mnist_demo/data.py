"""MNIST as tensors, loaded once per process through torchvision.

The images live in a data folder: $MNIST_DATA_DIR, or ./data in the project. torchvision's
`MNIST` reads its files from `<folder>/MNIST/raw/`; when they are missing and we are online
it downloads them there. We then keep the whole set as one tensor, so the training loop
slices batches out of memory instead of converting 60,000 PIL images one by one.

    from mnist_demo.data import load_mnist
    train_set = load_mnist(train=True)   # images (60000, 1, 28, 28) in 0..1, labels (60000,)

`batches()` deals them out for training, shuffled anew each epoch, optionally through
`augment()` (small random moves that make drawn digits easier to read).
"""

import functools
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from mnist_demo.constants import DATA_DIR_ENV, DEFAULT_DATA_DIR, MNIST_MEAN, MNIST_STD


class MNISTNotFoundError(FileNotFoundError):
    """MNIST is not in the data folder and could not be downloaded."""


@dataclass(frozen=True)
class MNISTTensors:
    """One split of MNIST held in memory. Shared by everyone: never modify in place."""

    images: torch.Tensor  # (N, 1, 28, 28) float32, pixel values 0..1 (0 = black background)
    labels: torch.Tensor  # (N,) int64, the digit 0..9

    def __len__(self) -> int:
        return len(self.labels)


def data_dir() -> Path:
    """The folder MNIST is read from (and downloaded into): $MNIST_DATA_DIR or ./data."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """Shift and scale pixels (0..1) with MNIST's mean and std, as every input is."""
    return (images - MNIST_MEAN) / MNIST_STD


def load_mnist(
    train: bool = True, root: str | Path | None = None, download: bool = True
) -> MNISTTensors:
    """The training (60,000) or test (10,000) images as tensors; read from disk once.

    Raises `MNISTNotFoundError` naming the folder and $MNIST_DATA_DIR when the files are
    missing and cannot be downloaded.
    """
    root = Path(root) if root is not None else data_dir()
    return _load_cached(root.resolve(), train, download)


@functools.lru_cache(maxsize=4)
def _load_cached(root: Path, train: bool, download: bool) -> MNISTTensors:
    dataset = _open_mnist(root, train, download)
    images = dataset.data.unsqueeze(1).float().div_(255.0)  # (N, 28, 28) uint8 -> (N, 1, 28, 28)
    labels = dataset.targets.long()
    images.requires_grad_(False)
    return MNISTTensors(images=images, labels=labels)


def _open_mnist(root: Path, train: bool, download: bool):
    # Imported here, not at the top: torchvision adds ~190 MB to a process, and the app
    # only needs it once someone trains.
    from torchvision.datasets import MNIST

    try:
        return MNIST(root=str(root), train=train, download=False)
    except RuntimeError:
        pass  # not there yet: try to download below
    split = "training" if train else "test"
    help_text = (
        f"The MNIST {split} files were not found in {root / 'MNIST' / 'raw'}. "
        f"Put the four MNIST files there (or their .gz versions), or set the environment "
        f"variable {DATA_DIR_ENV} to a folder that has MNIST/raw/ inside it"
    )
    if not download:
        raise MNISTNotFoundError(help_text + ".")
    try:
        return MNIST(root=str(root), train=train, download=True)
    except Exception as error:  # no network, a proxy, a full disk, a bad mirror...
        raise MNISTNotFoundError(
            f"{help_text}; downloading them failed ({type(error).__name__}: {error})."
        ) from error


_LOAD_LOCK = threading.Lock()  # two first runs at once must not both read (or download) MNIST


def shared_data() -> tuple[MNISTTensors, MNISTTensors]:
    """(training set, test set), loaded once per process. Raises `MNISTNotFoundError`."""
    with _LOAD_LOCK:
        return load_mnist(train=True), load_mnist(train=False)


def first_images(dataset: MNISTTensors, size: int | None) -> MNISTTensors:
    """The first `size` images (all when None), as views: nothing is copied.

    MNIST's files are not sorted by digit, so the first images are as good a sample as any.
    """
    if size is None or size >= len(dataset):
        return dataset
    return MNISTTensors(images=dataset.images[:size], labels=dataset.labels[:size])


def batches(
    dataset: MNISTTensors,
    batch_size: int,
    generator: torch.Generator,
    augmented: bool = False,
    bold: torch.Tensor | None = None,
    bold_share: float = 0.0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Normalised (images, targets) batches for ever, in a new random order each epoch.

    With `bold` (a bold copy of every image: mnist_demo/bold_digits.py), about `bold_share`
    of each batch is the bold copy instead of the digit as MNIST drew it.
    """
    while True:
        order = torch.randperm(len(dataset), generator=generator)  # a new shuffle each epoch
        for start in range(0, len(dataset), batch_size):
            batch = order[start : start + batch_size]
            images = dataset.images[batch]  # (B, 1, 28, 28) in 0..1
            if bold is not None:
                swap = torch.rand(len(batch), generator=generator) < bold_share
                images = torch.where(swap.view(-1, 1, 1, 1), bold[batch], images)
            if augmented:
                images = augment(images, generator)
            yield normalize(images), dataset.labels[batch]  # (B, 1, 28, 28), (B,)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Randomly shift (+-2 px), scale (+-10%), rotate (+-12 degrees) and thicken or thin.

    A drawing never lands exactly like an MNIST digit; training on slightly moved, tilted and
    bolder or thinner digits makes the network recognise drawn ones. (B, 1, 28, 28) in 0..1.
    """
    batch = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(batch, generator=generator) * (high - low) + low

    angle = uniform(-12.0, 12.0) * math.pi / 180
    scale = uniform(0.9, 1.1)
    shift = uniform(-2.0, 2.0), uniform(-2.0, 2.0)  # pixels
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(  # (B, 2, 3): where each output pixel samples the input
        [
            torch.stack([cos, -sin, shift[0] * 2 / 28], dim=1),
            torch.stack([sin, cos, shift[1] * 2 / 28], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images, grid, align_corners=False)

    # Stroke thickness: blend towards the dilated (bolder) or eroded (thinner) digit.
    thickness = uniform(-0.5, 0.8).view(batch, 1, 1, 1)
    bolder = F.max_pool2d(moved, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-moved, 3, stride=1, padding=1)
    target = torch.where(thickness > 0, bolder, thinner)
    return moved + thickness.abs() * (target - moved)
