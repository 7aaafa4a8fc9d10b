"""The training loop, written out in full, and a command line to run it.

    python -m mnist_demo.train --epochs 1             # train, print test accuracy
    python -m mnist_demo.train --dry-run              # a few steps, to check the code path
    python -m mnist_demo.train --help                 # every setting with its default

`train_step()` is one step of the lesson, its five lines and nothing else. `train()` calls it
batch after batch and is a generator: every few steps it yields a `TrainProgress` (step,
epoch, loss, running accuracy, samples per second). The command line prints them with a
tqdm bar; the app's Train tab draws them as live curves. Stopping early is just not asking
for the next event (or `should_stop()` saying so): the weights are always those after a
whole optimizer step.
"""

import argparse
import math
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mnist_demo.bold_digits import bold_copies
from mnist_demo.constants import HIDDEN_SIZE
from mnist_demo.data import MNISTTensors, batches, first_images, load_mnist
from mnist_demo.evaluate import evaluate, loss_and_accuracy
from mnist_demo.model import make_model

OPTIMIZERS = ("adam", "sgd", "momentum")
# A cross-entropy this large means the true digit gets a probability below e^-10000: the
# weights are blowing up. We stop there instead of waiting for inf or NaN (with ReLU the
# net may also "recover" to a dead network that answers the same digit for everything).
EXPLODED_LOSS = 1e4


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (saved next to the weights)."""

    optimizer: str = "adam"  # "adam", "sgd" (plain) or "momentum" (SGD with momentum 0.9)
    lr: float = 1e-3  # the lesson's Adam learning rate
    batch_size: int = 64
    epochs: float = 1.0  # passes over the training images (fractions allowed)
    max_steps: int | None = None  # if set, stop after this many steps instead
    train_size: int | None = None  # use only the first N training images (None: all)
    hidden_size: int = HIDDEN_SIZE
    seed: int = 0  # weights, shuffling and augmentation all follow from it
    init: str = "random"  # "random" weights from the seed, or a copy of the "shipped" model
    augment: bool = False  # random shifts, scale, rotation and stroke thickness
    bold_share: float = 0.0  # this share of each batch drawn with a bold pen (bold_digits.py)
    softmax_bug: bool = False  # the lesson's bug: softmax applied before nn.CrossEntropyLoss
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
    test_loss: float | None = None  # mean cross-entropy on the same held-out images
    losses: list[float] = field(default_factory=list)  # every step's loss since last event


class TrainingDiverged(ArithmeticError):
    """The loss became NaN, infinite or enormous: the steps were too large."""


def make_optimizer(name: str, parameters, lr: float) -> torch.optim.Optimizer:
    """Adam (the lesson's choice), plain SGD, or SGD with momentum."""
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9)
    raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")


def train_step(model, optimizer, loss_fn, images, targets) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the lesson: returns the batch's (logits, loss)."""
    optimizer.zero_grad()  # forget the previous step's gradients
    logits = model(images)  # (B, 10) forward pass
    loss = loss_fn(logits, targets)  # mean cross-entropy over the batch
    loss.backward()  # gradients of the loss with respect to every weight
    optimizer.step()  # move every weight a little against its gradient
    return logits, loss


def softmax_then_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The lesson's bug: nn.CrossEntropyLoss applies log_softmax itself, so softmax first
    squeezes its input into 0..1 and the loss can only move between -log(e / (e + 9)) = 1.46
    and ln 10 = 2.30: the gradients are tiny and training stalls."""
    return F.cross_entropy(torch.softmax(logits, dim=1), targets)


def make_loss_fn(config: TrainConfig):
    """The lesson's loss, or the bug a class can watch stall."""
    return softmax_then_cross_entropy if config.softmax_bug else nn.CrossEntropyLoss()


def check_loss(loss: float, step: int, lr: float) -> None:
    """Raise `TrainingDiverged` when the loss is not a finite, sensible number."""
    if not math.isfinite(loss) or loss > EXPLODED_LOSS:
        raise TrainingDiverged(
            f"The loss reached {loss:.3g} at step {step} (a new network starts near "
            f"ln 10 = 2.3): the learning rate {lr:g} makes steps so large that the weights "
            f"blow up. Try a smaller learning rate."
        )


def train(
    model: nn.Module,
    train_set: MNISTTensors,
    config: TrainConfig,
    eval_set: MNISTTensors | None = None,
    eval_every: int = 0,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[TrainProgress]:
    """Train `model` in place, yielding a `TrainProgress` every `config.report_every` steps.

    With an `eval_set`, accuracy on it is measured every `eval_every` steps and at the end.
    `should_stop()` is asked after every step. Raises `TrainingDiverged` (see `check_loss`).
    """
    generator = torch.Generator().manual_seed(config.seed)  # our own: global RNG untouched
    train_set = first_images(train_set, config.train_size)
    total_steps = config.total_steps(len(train_set))
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    scheduler = None
    if config.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    loss_fn = make_loss_fn(config)  # nn.CrossEntropyLoss: log-softmax + negative log-likelihood
    window = Window(config, total_steps, len(train_set))

    model.train()
    bold = bold_copies(train_set.images, generator) if config.bold_share else None
    data = batches(train_set, config.batch_size, generator, config.augment, bold, config.bold_share)
    for step, (images, targets) in enumerate(data, start=1):
        logits, loss = train_step(model, optimizer, loss_fn, images, targets)
        check_loss(loss.item(), step, config.lr)
        if scheduler is not None:
            scheduler.step()
        window.add(loss.item(), logits, targets)
        is_last = step >= total_steps or should_stop()
        if step % config.report_every == 0 or is_last:
            measure = eval_set is not None and (is_last or (eval_every and step % eval_every == 0))
            yield window.report(step, loss_and_accuracy(model, eval_set) if measure else None)
        if is_last:
            break
    model.eval()


class Window:
    """Loss and accuracy of the training batches since the last progress event."""

    def __init__(self, config: TrainConfig, total_steps: int, num_images: int):
        self.total_steps, self.batch_size = total_steps, config.batch_size
        self.steps_per_epoch = math.ceil(num_images / config.batch_size)
        self.start = time.perf_counter()
        self.losses: list[float] = []
        self.correct = self.seen = 0

    def add(self, loss: float, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self.losses.append(loss)
        self.correct += (logits.argmax(dim=1) == targets).sum().item()
        self.seen += len(targets)

    def report(self, step: int, test: tuple[float, float] | None) -> TrainProgress:
        """The progress event for the window, which then starts again; `test` is the
        held-out (loss, accuracy) when it was measured at this step."""
        test_loss, test_accuracy = test if test is not None else (None, None)
        elapsed = time.perf_counter() - self.start
        progress = TrainProgress(
            step=step,
            total_steps=self.total_steps,
            epoch=step / self.steps_per_epoch,
            loss=sum(self.losses) / len(self.losses),
            running_accuracy=self.correct / self.seen,
            samples_per_second=step * self.batch_size / max(elapsed, 1e-9),
            elapsed=elapsed,
            test_accuracy=test_accuracy,
            test_loss=test_loss,
            losses=self.losses,
        )
        self.losses, self.correct, self.seen = [], 0, 0
        return progress


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
        "--train-size", type=int, default=None, help="train on the first N training images"
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
        "--bold-share",
        type=float,
        default=defaults.bold_share,
        help="share of each batch drawn with a bold pen, as small bold drawings reach the network",
    )
    parser.add_argument(
        "--softmax-bug",
        action="store_true",
        help="the lesson's bug: softmax before nn.CrossEntropyLoss (watch the loss stall)",
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
        bold_share=args.bold_share,
        softmax_bug=args.softmax_bug,
        lr_schedule=args.lr_schedule,
        report_every=10,
    )
    train_set = load_mnist(train=True, root=args.data_dir)
    test_set = load_mnist(train=False, root=args.data_dir)
    model = make_model(config.hidden_size, seed=config.seed)

    start = time.perf_counter()
    train_images = len(first_images(train_set, config.train_size))
    with tqdm(total=config.total_steps(train_images), unit="step") as bar:
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
