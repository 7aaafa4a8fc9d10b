"""MNIST as tensors, loaded once per process through torchvision.

The images live in a data folder: $MNIST_DATA_DIR, or ./data in the project. torchvision's
`MNIST` reads its files from `<folder>/MNIST/raw/`; when they are missing and we are online
it downloads them there. We then keep the whole set as one tensor, so the training loop
slices batches out of memory instead of converting 60,000 PIL images one by one.

    from mnist_demo.data import load_mnist
    train_set = load_mnist(train=True)   # images (60000, 1, 28, 28) in 0..1, labels (60000,)
"""

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch

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
