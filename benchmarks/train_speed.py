"""How fast our training path is, against the classic per-sample DataLoader pipeline.

    python benchmarks/train_speed.py            # needs MNIST ($MNIST_DATA_DIR or ./data)

Both train the same model (the lesson's 784-128-10) with Adam on the same machine, in this
one run:
  * baseline: torchvision MNIST with ToTensor + Normalize per sample, DataLoader batch 64,
    as in pytorch/examples' mnist/main.py;
  * ours: the whole set already a tensor in memory, batches sliced out of it (mnist_demo.train).
Then: wall time of training (evaluation excluded) until 97.5% test accuracy with ours.
Targets: ours >= 10x the baseline's samples/s; 97.5% within 5 s on 2 CPU cores.
Prints figures; asserts nothing about time.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a plain script
from mnist_demo.constants import MNIST_MEAN, MNIST_STD
from mnist_demo.data import data_dir, load_mnist
from mnist_demo.evaluate import evaluate
from mnist_demo.model import make_model
from mnist_demo.train import TrainConfig, train


def baseline_samples_per_second(steps: int, batch_size: int = 64) -> float:
    """pytorch/examples' pipeline: a PIL image -> ToTensor -> Normalize per sample."""
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )
    dataset = datasets.MNIST(str(data_dir()), train=True, download=False, transform=transform)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    model = make_model(seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    seen = 0
    start = time.perf_counter()
    for step, (images, targets) in enumerate(loader):
        if step == steps:
            break
        optimizer.zero_grad()
        loss = loss_fn(model(images), targets)
        loss.backward()
        optimizer.step()
        seen += len(targets)
    return seen / (time.perf_counter() - start)


def ours_samples_per_second(steps: int, batch_size: int = 64) -> float:
    model = make_model(seed=0)
    config = TrainConfig(batch_size=batch_size, max_steps=steps, report_every=steps)
    start = time.perf_counter()
    for _ in train(model, load_mnist(train=True), config):
        pass
    return steps * batch_size / (time.perf_counter() - start)


def seconds_to_accuracy(target: float, config: TrainConfig) -> tuple[float | None, int, float]:
    """Training wall time (evaluations excluded) until test accuracy >= target."""
    model = make_model(seed=config.seed)
    train_set, test_set = load_mnist(train=True), load_mnist(train=False)
    training_seconds = 0.0
    accuracy = 0.0
    resumed = time.perf_counter()
    for progress in train(model, train_set, config):
        training_seconds += time.perf_counter() - resumed
        accuracy = evaluate(model, test_set)  # not counted: the clock is paused here
        if accuracy >= target:
            return training_seconds, progress.step, accuracy
        resumed = time.perf_counter()
    return None, config.total_steps(len(train_set)), accuracy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", type=int, default=300, help="steps per throughput measurement (default: 300)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="throughput repeats, median reported (default: 3)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (default: 2, the machine's cores)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_mnist(train=True), load_mnist(train=False)  # load once, outside the clocks

    baseline, ours = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine
        baseline.append(baseline_samples_per_second(args.steps))
        ours.append(ours_samples_per_second(args.steps))
    baseline_median, ours_median = statistics.median(baseline), statistics.median(ours)
    print(
        f"torch {torch.__version__}, {args.threads} threads, batch 64, Adam, {args.steps} steps x {args.repeats}"
    )
    print(f"baseline DataLoader (ToTensor+Normalize): {baseline_median:10,.0f} samples/s (median)")
    print(f"ours (tensors in memory):                 {ours_median:10,.0f} samples/s (median)")
    print(f"ratio: {ours_median / baseline_median:.1f}x   (target >= 10x)")

    config = TrainConfig(batch_size=256, lr=4e-3, epochs=4, lr_schedule="cosine", report_every=50)
    seconds, step, accuracy = seconds_to_accuracy(0.975, config)
    settings = (
        f"Adam lr {config.lr:g}, batch {config.batch_size}, cosine over {config.epochs:g} epochs"
    )
    if seconds is None:
        print(f"97.5% test accuracy NOT reached ({settings}); final {accuracy:.4f}")
    else:
        print(
            f"97.5% test accuracy after {seconds:.2f} s of training, step {step} "
            f"(test accuracy {accuracy:.4f}; {settings})   (target <= 5 s)"
        )


if __name__ == "__main__":
    main()
