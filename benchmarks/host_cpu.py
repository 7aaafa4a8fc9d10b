"""Does this machine have its 2 CPUs to itself right now? Run before benchmarks/classroom_load.py.

    python benchmarks/host_cpu.py

Counts Python loop steps for 3 s in one process, then in two processes at once, and prints
both rates and the speed-up. With 2 free cores the speed-up is ~2x. On the shared VM these
figures were measured on, it fell to 1.5x when the host was busy, and the classroom
benchmark's drawing p95 then rose 2-10x with the same code. Compare classroom figures
only across runs where this says ~2x.
"""

import time
from multiprocessing import Pool

SECONDS = 3.0


def loop_steps(_=None) -> int:
    """Python loop steps counted in SECONDS of wall-clock time (pure CPU, no memory traffic)."""
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < SECONDS:
        for _ in range(10_000):
            steps += 1
    return steps


def main() -> None:
    alone = loop_steps()
    with Pool(2) as pool:
        together = pool.map(loop_steps, [0, 1])
    rate = [steps / SECONDS / 1e6 for steps in (alone, *together)]
    print(
        f"one process: {rate[0]:.1f} M steps/s; two at once: {rate[1]:.1f} + {rate[2]:.1f} "
        f"M steps/s -> {sum(together) / alone:.2f}x (2 free cores: ~2x)"
    )


if __name__ == "__main__":
    main()
