"""Saving and loading trained weights, with a JSON card next to them.

The weights are a plain `state_dict` (loadable with `torch.load(..., weights_only=True)`,
which refuses pickled code). Next to `model.pt` sits `model.json`: the architecture, the
training settings, the test accuracy, the torch version, the sha256 of the weights and the
command that rebuilds them. Loading checks the hash and every tensor's shape.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

from mnist_demo.constants import INPUT_SIZE, NUM_CLASSES, PROJECT_ROOT, SHIPPED_CHECKPOINT
from mnist_demo.model import MNISTClassifier, count_parameters, hidden_size_of

REBUILD_COMMAND = (
    "python -m mnist_demo.train --epochs 120 --batch-size 128 --augment --bold-share 0.35 "
    "--lr-schedule cosine --seed 0 --threads 1 --out checkpoints/mnist_mlp.pt"
)


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, tampered with or of the wrong shape."""


def metadata_path(path: Path) -> Path:
    """model.pt -> model.json"""
    return Path(path).with_suffix(".json")


def sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def state_dict_bytes(model: torch.nn.Module) -> bytes:
    """The weights as the bytes of a .pt file."""
    import io

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def checkpoint_metadata(model: MNISTClassifier, weights_sha256: str, **details) -> dict:
    """The JSON card: what the network is, how it was trained, how to rebuild it."""
    hidden = model.fc1.out_features
    return {
        "architecture": f"MNISTClassifier: Flatten -> Linear({INPUT_SIZE}, {hidden}) -> ReLU -> Linear({hidden}, {NUM_CLASSES})",
        "hidden_size": hidden,
        "parameters": count_parameters(model),
        "torch_version": torch.__version__,
        "sha256": weights_sha256,
        **details,
    }


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes it private; a checkpoint is for everyone
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def save_checkpoint(model: MNISTClassifier, path: Path, **details) -> dict:
    """Write the weights and their JSON card atomically; returns the card."""
    weights = state_dict_bytes(model)
    metadata = checkpoint_metadata(model, sha256_of_bytes(weights), **details)
    atomic_write(Path(path), weights)
    atomic_write(metadata_path(path), (json.dumps(metadata, indent=2) + "\n").encode())
    return metadata


def load_state_dict(path: Path | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and check a checkpoint: (state_dict, metadata). Raises `CheckpointError`."""
    path = Path(path) if path is not None else SHIPPED_CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} is missing. {_how_to_rebuild(path)}")
    data = path.read_bytes()
    metadata = _read_metadata(path)
    expected = metadata.get("sha256")
    if expected is not None and sha256_of_bytes(data) != expected:
        raise CheckpointError(
            f"Checkpoint {path} does not match the sha256 in {metadata_path(path).name}: the "
            f"file is corrupt or was changed. {_how_to_rebuild(path)}"
        )
    try:
        import io

        state_dict = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"Checkpoint {path} could not be read as PyTorch weights ({type(error).__name__}). "
            f"{_how_to_rebuild(path)}"
        ) from error
    _check_shapes(state_dict, path)
    return state_dict, metadata


def load_model(path: Path | None = None) -> MNISTClassifier:
    """The model stored at `path` (default: the shipped checkpoint), in eval mode."""
    state_dict, _ = load_state_dict(path)
    model = MNISTClassifier(hidden_size_of(state_dict))
    model.load_state_dict(state_dict)
    return model.eval()


def _read_metadata(path: Path) -> dict:
    card = metadata_path(path)
    if not card.is_file():
        return {}
    try:
        return json.loads(card.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(
            f"Metadata {card} is not valid JSON ({error}). {_how_to_rebuild(path)}"
        ) from error


def _check_shapes(state_dict, path: Path) -> None:
    if not isinstance(state_dict, dict) or "fc1.weight" not in state_dict:
        raise CheckpointError(
            f"Checkpoint {path} is not a state_dict of MNISTClassifier. {_how_to_rebuild(path)}"
        )
    hidden = hidden_size_of(state_dict)
    expected = {
        "fc1.weight": (hidden, INPUT_SIZE),
        "fc1.bias": (hidden,),
        "fc2.weight": (NUM_CLASSES, hidden),
        "fc2.bias": (NUM_CLASSES,),
    }
    shapes = {
        name: tuple(tensor.shape)
        for name, tensor in state_dict.items()
        if isinstance(tensor, torch.Tensor)
    }
    if shapes != expected:
        raise CheckpointError(
            f"Checkpoint {path} has tensors {shapes}, expected {expected} for the lesson's "
            f"network. {_how_to_rebuild(path)}"
        )


def _how_to_rebuild(path: Path) -> str:
    if Path(path).resolve() == SHIPPED_CHECKPOINT.resolve():
        return f"Rebuild it from the project folder ({PROJECT_ROOT}) with: {REBUILD_COMMAND}"
    return "Train a model and save it again (python -m mnist_demo.train --out <file>)."
