"""The training loop's speed in two checkouts of this project, taken in turns.

    git worktree add /tmp/before <commit>
    python benchmarks/compare_train_loop.py /tmp/before .   # needs MNIST ($MNIST_DATA_DIR)

Each turn times `mnist_demo.train.train()` of one checkout in a fresh subprocess: 300 steps
at batch 64 from three seeds (the median counts), MNIST already in memory. The checkouts
alternate for `--turns` turns each, so both meet the same ups and downs of a shared
machine. Prints each one's median samples/s and their ratio; asserts nothing about time.
"""

import argparse
import statistics
import subprocess
import sys

ONE_TURN = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from mnist_demo.data import load_mnist
from mnist_demo.model import make_model
from mnist_demo.train import TrainConfig, train
data = load_mnist(train=True, download=False)
rates = []
for seed in range(3):
    model = make_model(seed=seed)
    start = time.perf_counter()
    for _ in train(model, data, TrainConfig(max_steps=300, batch_size=64, seed=seed)):
        pass
    rates.append(300 * 64 / (time.perf_counter() - start))
print(sorted(rates)[1])
"""


def samples_per_second(checkout: str) -> float:
    command = [sys.executable, "-c", ONE_TURN, checkout]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("before", help="the first checkout (a project folder)")
    parser.add_argument("after", help="the second checkout")
    parser.add_argument("--turns", type=int, default=6, help="turns of each")
    args = parser.parse_args()
    rates = {args.before: [], args.after: []}
    for turn in range(args.turns):
        order = (args.before, args.after) if turn % 2 == 0 else (args.after, args.before)
        for checkout in order:
            rates[checkout].append(samples_per_second(checkout))
    for checkout, values in rates.items():
        print(
            f"{checkout}: median {statistics.median(values):,.0f} samples/s "
            f"({min(values):,.0f}-{max(values):,.0f})"
        )
    ratio = statistics.median(rates[args.after]) / statistics.median(rates[args.before])
    print(f"after / before: {ratio:.2f}x")


if __name__ == "__main__":
    main()
