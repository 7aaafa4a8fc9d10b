"""Saving and loading weights: round trip, weights_only, corrupt files, the shipped model."""

import json
import pickle

import pytest
import torch

from mnist_demo.checkpoint import (
    REBUILD_COMMAND,
    CheckpointError,
    atomic_write,
    load_model,
    load_state_dict,
    save_checkpoint,
)
from mnist_demo.constants import SHIPPED_CHECKPOINT
from mnist_demo.data import load_mnist
from mnist_demo.evaluate import evaluate
from mnist_demo.model import make_model


def test_round_trip_gives_the_same_outputs(tmp_path):
    model = make_model(hidden_size=32, seed=0)
    path = tmp_path / "m.pt"
    card = save_checkpoint(model, path, test_accuracy=0.5, command="python -m mnist_demo.train")
    loaded = load_model(path)
    images = torch.rand(3, 1, 28, 28)
    assert torch.equal(loaded(images), model.eval()(images))
    assert not loaded.training
    assert json.loads(path.with_suffix(".json").read_text()) == card
    assert card["hidden_size"] == 32 and card["parameters"] == 784 * 32 + 32 + 32 * 10 + 10


def test_weights_load_with_weights_only(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(make_model(seed=0), path)
    state_dict = torch.load(path, weights_only=True)
    assert set(state_dict) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}


class Payload:
    def __reduce__(self):
        return (print, ("this would run code on load",))


def test_a_pickled_payload_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"fc1.weight": Payload()}, path)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_model(path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(make_model(seed=0), path)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with pytest.raises(CheckpointError, match="sha256") as error:
        load_model(path)
    assert str(path) in str(error.value)
    path.with_suffix(".json").unlink()  # without the card the hash cannot be checked...
    with pytest.raises(CheckpointError, match="could not be read"):  # ...but loading still fails
        load_model(path)


def test_wrong_shapes_are_refused(tmp_path):
    path = tmp_path / "m.pt"
    torch.save(
        {
            "fc1.weight": torch.zeros(128, 100),
            "fc1.bias": torch.zeros(128),
            "fc2.weight": torch.zeros(10, 128),
            "fc2.bias": torch.zeros(10),
        },
        path,
    )
    with pytest.raises(CheckpointError, match="expected"):
        load_model(path)


def test_missing_shipped_checkpoint_names_the_rebuild_command(monkeypatch, tmp_path):
    import mnist_demo.checkpoint as checkpoint

    missing = tmp_path / "mnist_mlp.pt"
    monkeypatch.setattr(checkpoint, "SHIPPED_CHECKPOINT", missing)
    with pytest.raises(CheckpointError) as error:
        checkpoint.load_model()
    assert str(missing) in str(error.value) and REBUILD_COMMAND in str(error.value)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    path.write_bytes(b"old")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(OSError):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_shipped_checkpoint_card_is_complete():
    _, card = load_state_dict(SHIPPED_CHECKPOINT)
    for key in ("architecture", "training", "test_accuracy", "torch_version", "sha256", "command"):
        assert key in card
    assert card["training"]["seed"] == 0 and card["parameters"] == 101_770
    assert card["command"].startswith("python -m mnist_demo.train")


def test_shipped_checkpoint_scores_at_least_98_percent_on_real_mnist(mnist_dir):
    accuracy = evaluate(load_model(), load_mnist(train=False))
    assert accuracy >= 0.98
    _, card = load_state_dict()
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-4)  # the card tells the truth
