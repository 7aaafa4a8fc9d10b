"""Small statistics the benchmark scripts share."""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
