"""The training loop, written out in full, and a command line to run it.

    python -m mnist_demo.train --epochs 1             # train, print test accuracy
    python -m mnist_demo.train --dry-run              # a few steps, to check the code path
    python -m mnist_demo.train --help                 # every setting with its default

`train()` is a generator: after every few steps it yields a `TrainProgress` (step, epoch,
loss, running accuracy, samples per second). The command line prints them with a tqdm bar;
the app's Train tab draws them as live curves. Stopping early is just not asking for the
next event: the weights are always those after a whole optimizer step.

Each step is the five lines of the lesson:
    optimizer.zero_grad(); logits = model(images); loss = loss_fn(logits, targets)
    loss.backward(); optimizer.step()
"""

import argparse
import math
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mnist_demo.constants import HIDDEN_SIZE, NUM_CLASSES
from mnist_demo.data import MNISTTensors, load_mnist, normalize
from mnist_demo.model import make_model

OPTIMIZERS = ("adam", "sgd", "momentum")


@dataclass
class TrainConfig:
    """Everything that decides a training run (saved next to the weights)."""

    optimizer: str = "adam"  # "adam", "sgd" (plain) or "momentum" (SGD with momentum 0.9)
    lr: float = 1e-3  # the lesson's Adam learning rate
    batch_size: int = 64
    epochs: float = 1.0  # passes over the training images (fractions allowed)
    max_steps: int | None = None  # if set, stop after this many steps instead
    train_size: int | None = None  # use only this many training images (a random subset)
    hidden_size: int = HIDDEN_SIZE
    seed: int = 0  # weights, shuffling and augmentation all follow from it
    augment: bool = False  # random shifts, scale, rotation and stroke thickness
    lr_schedule: str = "constant"  # or "cosine": decay to 0 over the run
    report_every: int = 50  # steps between progress events

    def total_steps(self, num_images: int) -> int:
        if self.max_steps is not None:
            return self.max_steps
        return max(1, math.ceil(self.epochs * math.ceil(num_images / self.batch_size)))


@dataclass
class TrainProgress:
    """One progress event of a run."""

    step: int
    total_steps: int
    epoch: float  # how many passes over the data so far
    loss: float  # mean cross-entropy over the steps since the last event
    running_accuracy: float  # accuracy on those training batches
    samples_per_second: float
    elapsed: float  # seconds since the run started
    test_accuracy: float | None = None  # on held-out images, when an eval set is given
    losses: list[float] = field(default_factory=list)  # every step's loss since last event


class TrainingDiverged(ArithmeticError):
    """The loss became NaN or infinite: the steps were too large."""


def make_optimizer(name: str, parameters, lr: float) -> torch.optim.Optimizer:
    """Adam (the lesson's choice), plain SGD, or SGD with momentum."""
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9)
    raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")


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


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """(10, 10) counts: row = true digit, column = predicted digit."""
    index = targets * NUM_CLASSES + predictions
    return torch.bincount(index, minlength=NUM_CLASSES * NUM_CLASSES).view(NUM_CLASSES, NUM_CLASSES)


def subset(dataset: MNISTTensors, size: int | None, generator: torch.Generator) -> MNISTTensors:
    """A random subset of `size` images (all of them when size is None)."""
    if size is None or size >= len(dataset):
        return dataset
    keep = torch.randperm(len(dataset), generator=generator)[:size]
    return MNISTTensors(images=dataset.images[keep], labels=dataset.labels[keep])


def train(
    model: nn.Module,
    train_set: MNISTTensors,
    config: TrainConfig,
    eval_set: MNISTTensors | None = None,
    eval_every: int = 0,
) -> Iterator[TrainProgress]:
    """Train `model` in place, yielding a `TrainProgress` every `config.report_every` steps.

    With an `eval_set`, accuracy on it is measured every `eval_every` steps (and at the end).
    Raises `TrainingDiverged` as soon as the loss is not a finite number.
    """
    generator = torch.Generator().manual_seed(config.seed)  # our own: global RNG untouched
    train_set = subset(train_set, config.train_size, generator)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    total_steps = config.total_steps(len(train_set))
    scheduler = None
    if config.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    loss_fn = nn.CrossEntropyLoss()  # takes raw logits: log-softmax + negative log-likelihood
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)

    model.train()
    step = 0
    start_time = time.perf_counter()
    window_losses: list[float] = []
    window_correct = window_seen = 0
    while step < total_steps:
        order = torch.randperm(len(train_set), generator=generator)  # a new shuffle each epoch
        for first in range(0, len(train_set), config.batch_size):
            batch = order[first : first + config.batch_size]
            images = train_set.images[batch]  # (B, 1, 28, 28) in 0..1
            targets = train_set.labels[batch]  # (B,)
            if config.augment:
                images = augment(images, generator)
            images = normalize(images)

            optimizer.zero_grad()  # forget the previous step's gradients
            logits = model(images)  # (B, 10) forward pass
            loss = loss_fn(logits, targets)  # mean cross-entropy over the batch
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"The loss became {loss.item()} at step {step + 1}: the learning rate "
                    f"{config.lr:g} makes steps so large that the weights blow up. "
                    f"Try a smaller learning rate."
                )
            loss.backward()  # gradients of the loss with respect to every weight
            optimizer.step()  # move every weight a little against its gradient
            if scheduler is not None:
                scheduler.step()
            step += 1

            window_losses.append(loss.item())
            window_correct += (logits.argmax(dim=1) == targets).sum().item()
            window_seen += len(targets)
            is_last = step >= total_steps
            if step % config.report_every == 0 or is_last:
                elapsed = time.perf_counter() - start_time
                test_accuracy = None
                if eval_set is not None and (is_last or (eval_every and step % eval_every == 0)):
                    test_accuracy = evaluate(model, eval_set)
                    model.train()
                yield TrainProgress(
                    step=step,
                    total_steps=total_steps,
                    epoch=step / steps_per_epoch,
                    loss=sum(window_losses) / len(window_losses),
                    running_accuracy=window_correct / window_seen,
                    samples_per_second=step * config.batch_size / max(elapsed, 1e-9),
                    elapsed=elapsed,
                    test_accuracy=test_accuracy,
                    losses=window_losses,
                )
                window_losses = []
                window_correct = window_seen = 0
            if is_last:
                break
    model.eval()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        description="Train the lesson's MNIST classifier (784 -> 128 -> ReLU -> 10).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=defaults.optimizer,
        help="momentum = SGD with momentum 0.9",
    )
    parser.add_argument("--lr", type=float, default=defaults.lr, help="learning rate")
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="images per step"
    )
    parser.add_argument(
        "--epochs", type=float, default=defaults.epochs, help="passes over the training set"
    )
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument(
        "--train-size", type=int, default=None, help="random subset of training images"
    )
    parser.add_argument(
        "--hidden-size", type=int, default=defaults.hidden_size, help="units in the hidden layer"
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="initial weights, shuffling, augmentation"
    )
    parser.add_argument(
        "--augment", action="store_true", help="random shifts/scale/rotation/thickness"
    )
    parser.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine"),
        default=defaults.lr_schedule,
        help="cosine: decay the lr to 0 over the run",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="MNIST folder (default: $MNIST_DATA_DIR or ./data)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="write the trained weights (+ .json metadata) here"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="train 20 steps on 2,000 images, to check the code path",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    """Run the command line; returns the test accuracy."""
    from tqdm import tqdm

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        optimizer=args.optimizer,
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        max_steps=20 if args.dry_run else args.max_steps,
        train_size=2000 if args.dry_run else args.train_size,
        hidden_size=args.hidden_size,
        seed=args.seed,
        augment=args.augment,
        lr_schedule=args.lr_schedule,
        report_every=10,
    )
    train_set = load_mnist(train=True, root=args.data_dir)
    test_set = load_mnist(train=False, root=args.data_dir)
    model = make_model(config.hidden_size, seed=config.seed)

    start = time.perf_counter()
    with tqdm(total=config.total_steps(config.train_size or len(train_set)), unit="step") as bar:
        for progress in train(model, train_set, config):
            bar.update(progress.step - bar.n)
            bar.set_postfix(
                epoch=f"{progress.epoch:.2f}",
                loss=f"{progress.loss:.4f}",
                acc=f"{progress.running_accuracy:.3f}",
                samples_s=f"{progress.samples_per_second:,.0f}",
            )
    train_seconds = time.perf_counter() - start
    test_accuracy = evaluate(model, test_set)
    print(
        f"test accuracy {test_accuracy:.4f} on {len(test_set):,} images; trained in {train_seconds:.1f} s"
    )

    if args.out is not None:
        from mnist_demo.checkpoint import save_checkpoint

        command = "python -m mnist_demo.train " + shlex.join(
            argv if argv is not None else sys.argv[1:]
        )
        save_checkpoint(
            model,
            args.out,
            training=asdict(config),
            test_accuracy=test_accuracy,
            command=command,
            train_seconds=train_seconds,
        )
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return test_accuracy


if __name__ == "__main__":
    main()
