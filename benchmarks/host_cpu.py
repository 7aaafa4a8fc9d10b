"""Does this machine have its 2 CPUs to itself right now? Run before benchmarks/classroom_load.py.

    python benchmarks/host_cpu.py

Counts Python loop steps for 3 s in one process, then in two processes at once, and prints
both rates and the speed-up. With 2 free cores the speed-up is about 2x (1.8-2.5x seen).
On the shared VM these figures were measured on it once fell to 1.5x, one vCPU taken by
the host, and the classroom benchmark gave 3.9x right after. It only sees CPU time taken
away: it does not see contention for memory or cache. At other times it said 2.4-2.5x
while the classroom ratio was 2.0-4.1x with code that gave 1.4-1.6x earlier the same day.
A low figure here explains a bad classroom run; a good one does not prove a quiet host.
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
