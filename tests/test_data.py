"""MNIST loading: fake IDX files (no network), the offline download path, the real data."""

import shutil

import pytest
import torch

from mnist_demo.data import MNISTNotFoundError, data_dir, load_mnist, normalize


def test_loads_fake_idx_files_as_tensors(fake_mnist):
    root, contents = fake_mnist
    images, labels = contents["train"]
    train_set = load_mnist(train=True, root=root, download=False)
    assert train_set.images.shape == (30, 1, 28, 28)
    assert train_set.images.dtype == torch.float32
    assert torch.equal(train_set.labels, torch.as_tensor(labels, dtype=torch.long))
    assert torch.allclose(
        train_set.images[:, 0] * 255, torch.as_tensor(images, dtype=torch.float32)
    )
    assert len(load_mnist(train=False, root=root, download=False)) == 12


def test_loaded_once_per_process(fake_mnist):
    root, _ = fake_mnist
    assert load_mnist(train=True, root=root) is load_mnist(train=True, root=root)


def test_missing_data_offline_names_the_folder_and_the_variable(tmp_path):
    with pytest.raises(MNISTNotFoundError) as error:
        load_mnist(train=False, root=tmp_path / "nowhere", download=False)
    assert str(tmp_path / "nowhere") in str(error.value)
    assert "MNIST_DATA_DIR" in str(error.value)


def test_failed_download_names_the_folder_and_the_variable(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    def no_network(self):
        raise OSError("network is unreachable")

    monkeypatch.setattr(MNIST, "download", no_network)
    with pytest.raises(MNISTNotFoundError) as error:
        load_mnist(train=True, root=tmp_path / "empty", download=True)
    message = str(error.value)
    assert "MNIST_DATA_DIR" in message and "network is unreachable" in message


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("MNIST_DATA_DIR")
    assert data_dir().name == "data"


def test_download_path_runs_offline_from_the_gz_files(mnist_dir, tmp_path):
    """torchvision's own download code, fed the .gz files it would fetch (same MD5s)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ):
        shutil.copy(mnist_dir / "MNIST" / "raw" / name, raw / name)
    test_set = load_mnist(train=False, root=tmp_path, download=True)
    assert len(test_set) == 10_000
    assert test_set.labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_real_mnist_has_the_documented_contents(mnist_dir):
    train_set = load_mnist(train=True)
    test_set = load_mnist(train=False)
    assert len(train_set) == 60_000 and len(test_set) == 10_000
    assert torch.bincount(train_set.labels).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert train_set.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert train_set.images.min() >= 0.0 and train_set.images.max() <= 1.0
    normalised = normalize(train_set.images[:10_000])
    assert abs(normalised.mean().item()) < 0.05 and abs(normalised.std().item() - 1) < 0.05
