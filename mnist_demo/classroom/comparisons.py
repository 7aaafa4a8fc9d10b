"""The Train tab's comparisons: one press trains a few runs that differ in one thing only.

Comparing optimizers at one learning rate compares the rate as much as the optimizer: at
0.001, the lesson's rate for Adam, plain SGD barely moves in an epoch (about 81% against
Adam's 96%) and a class leaves believing "SGD does not work". So there are two lessons:

- FAIR: each optimizer at a learning rate that suits it: they end close together.
- SAME_LR: all three at 0.001: the same step size suits Adam and not SGD, because Adam
  divides each step by the gradient's recent size and SGD does not.

    configs = runs_to_train(config, FAIR)   # three TrainConfigs, same seed and batches
"""

from dataclasses import replace

from mnist_demo.train import TrainConfig

SINGLE, FAIR, SAME_LR = "single", "fair", "same_lr"
COMPARISONS = {
    # (optimizer, learning rate) per run; the fair rates were measured over 1 epoch:
    # docs/performance.md, "The optimizer comparisons".
    FAIR: (("adam", 1e-3), ("sgd", 0.1), ("momentum", 0.01)),
    SAME_LR: (("adam", 1e-3), ("sgd", 1e-3), ("momentum", 1e-3)),
}
CHOICES = (SINGLE, FAIR, SAME_LR)


def runs_to_train(config: TrainConfig, comparison: str = SINGLE) -> list[TrainConfig]:
    """The runs one press trains: `config` alone, or one run per optimizer of a comparison
    (same seed, batches and length: only the optimizer and its rate differ)."""
    if comparison == SINGLE:
        return [config]
    if comparison not in COMPARISONS:
        raise ValueError(f"Unknown comparison {comparison!r}; choose one of {', '.join(CHOICES)}.")
    return [
        replace(config, optimizer=optimizer, lr=lr) for optimizer, lr in COMPARISONS[comparison]
    ]
