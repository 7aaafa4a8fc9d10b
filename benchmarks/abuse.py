"""The attacks of review 2 (issue 15) against a launched app, and the figures they move.

    python benchmarks/abuse.py                       # memory, png, body, upload, in turn
    python benchmarks/abuse.py --phases png,body     # some of them
    python benchmarks/abuse.py --phases queue-hog    # the training queue hog (item 1)
    python benchmarks/abuse.py --phases memory --sessions 2000 --runs 300 --idle 60

Starts the app as benchmarks/classroom_load.py does (a child process, its helpers reused),
with `MNIST_SESSION_IDLE_SECONDS=--idle` so that idle sessions expire within the run, and
a fresh Gradio cache folder. Phases:

- memory: the server's RSS and PSS (with its stroke process) sampled every second while
  `--sessions` new sessions each send one stroke, then `--runs` of them each train a short
  run (`--train-size` images, `--steps` steps, `--hidden` units), then all stay idle past
  the expiry. Targets: under 1.6 GB throughout, back within 150 MB of the start.
- png: one student draws every 0.5 s: alone (the baseline); while 8 clients keep a normal
  drawing in flight each, every one from a new session (the control); while they keep a
  5656x5656 PNG in flight (review 2's near-limit PNG); while they send ones of the largest
  size still read (MAX_DRAWING_SIDE). The parts are taken in turn `--rounds` times, so
  that they meet the same ups and downs of a shared machine; the student's p50/p95 per
  round and pooled.
- body: a 100 MB request body, with a Content-Length and then in chunks without one, and
  four at once: the answer, how long it took, the server's RSS before and after.
- upload: a small file to Gradio's upload route: the answer, and whether a file was stored.
- queue-hog: about 205 /train events from made-up session hashes, kept topped up for
  `--hog-seconds` (the sender never listens), while one student draws every 0.5 s and calls
  the Cross-entropy tab's endpoint; then how long the backlog lasts after the script stops.

Asserts nothing: prints figures. Needs MNIST for the runs (MNIST_DATA_DIR).
"""

import argparse
import asyncio
import base64
import io
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # run as a plain script
from classroom_load import (  # noqa: E402 (benchmarks/classroom_load.py)
    PROJECT_ROOT,
    Rejected,
    call,
    drawing,
    start_server,
    wait_until_up,
)

from mnist_demo.classroom.limits import MAX_DRAWING_SIDE  # noqa: E402

from stats import percentile  # noqa: E402

STROKE_EVERY = 0.5  # seconds between a student's strokes
HOG_SETTINGS = ["adam", 0.001, 64, "epochs", 10, 60000, 1024]  # a run that takes the 30 s cap
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------
# Memory, sampled from /proc while the phases run
# ---------------------------------------------------------------------------------------


def rss_and_pss_mb(pid: int) -> tuple[float, float, float]:
    """(server RSS, stroke process RSS, PSS of both together), in MB."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    rss, pss = [], 0.0
    for process in [pid, *map(int, children)]:
        for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss.append(int(line.split()[1]) / 1024)
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) / 1024
    return rss[0], sum(rss[1:]), pss


class MemoryCurve:
    """Samples the server every `every` seconds in a thread; `mark(label)` notes a moment."""

    def __init__(self, pid: int, every: float = 1.0):
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, float, float]] = []  # (t, rss, child rss, pss)
        self.marks: list[tuple[float, str]] = []
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self.start, *rss_and_pss_mb(self.pid)))
            except (OSError, IndexError):  # the server is gone
                return
            self._stop.wait(self.every)

    def mark(self, label: str) -> None:
        self.marks.append((time.monotonic() - self.start, label))
        print(f"  [{time.monotonic() - self.start:6.1f} s] {label}", flush=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> tuple[float, float, float]:
        return rss_and_pss_mb(self.pid)

    def print_curve(self, rows: int = 30) -> None:
        """The curve, thinned to about `rows` rows, with the marks where they fall."""
        print("\n  time     server RSS  stroke proc RSS  PSS (both)")
        step = max(1, len(self.samples) // rows)
        marks = list(self.marks)
        for i, (t, rss, child, pss) in enumerate(self.samples):
            while marks and marks[0][0] <= t:
                print(f"  ---- {marks.pop(0)[1]}")
            if i % step == 0 or i == len(self.samples) - 1:
                print(f"  {t:6.1f} s  {rss:8,.0f} MB  {child:9,.0f} MB  {pss:9,.0f} MB")
        peak_rss = max(s[1] for s in self.samples)
        peak_pss = max(s[3] for s in self.samples)
        first, last = self.samples[0], self.samples[-1]
        print(
            f"\n  server RSS: start {first[1]:,.0f} MB, peak {peak_rss:,.0f} MB, end "
            f"{last[1]:,.0f} MB ({last[1] - first[1]:+,.0f} MB); PSS with the stroke process: "
            f"start {first[3]:,.0f}, peak {peak_pss:,.0f}, end {last[3]:,.0f} MB "
            f"({last[3] - first[3]:+,.0f} MB)"
        )
        print("  targets: under 1,600 MB throughout, back within 150 MB of the start")


# ---------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------


def http_client(connections: int = 64):
    import httpx

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(timeout=120, limits=limits)


async def timed(coroutine) -> tuple[float, str | None]:
    """(seconds, None) when `coroutine` answered, (seconds, why) when it failed."""
    started = time.monotonic()
    try:
        await coroutine
        return time.monotonic() - started, None
    except Rejected:
        return time.monotonic() - started, "queue full"
    except Exception as error:  # noqa: BLE001 (every failure is counted)
        return time.monotonic() - started, f"{type(error).__name__}: {error}"[:160]


async def many(coroutines, at_once: int) -> list:
    """Run the coroutines, at most `at_once` at a time; their results in order."""
    gate = asyncio.Semaphore(at_once)

    async def one(coroutine):
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))


def summary(name: str, results: list[tuple[float, str | None]]) -> str:
    """'name: N answered, p50 .. ms, p95 .. ms, max .. ms; M failed in p50 .. ms (most: ..)'."""
    answered = [s * 1000 for s, why in results if why is None]
    failed = [why[:100] for _, why in results if why is not None]
    text = f"{name}: {len(answered)} answered"
    if answered:
        text += (
            f", p50 {percentile(answered, 50):,.0f} ms, p95 {percentile(answered, 95):,.0f} ms,"
            f" max {max(answered):,.0f} ms"
        )
    text += f"; {len(failed)} failed"
    if failed:
        seconds = [s * 1000 for s, why in results if why is not None]
        common = max(set(failed), key=failed.count)
        text += (
            f" in p50 {percentile(seconds, 50):,.0f} ms, p95 {percentile(seconds, 95):,.0f} ms"
            f" (most: {failed.count(common)}x {common!r})"
        )
    return text


async def drawing_student(client, url: str, seconds: float, also=None) -> list:
    """One student drawing every STROKE_EVERY s for `seconds` (and calling `also(client)`
    after each stroke, when given); each stroke's (seconds, failure)."""
    canvas, session_hash = drawing(1), f"student-{uuid.uuid4().hex[:8]}"
    results, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        next_time = time.monotonic() + STROKE_EVERY
        results.append(await timed(call(client, url, "predict", [canvas], session_hash)))
        if also is not None:
            await also(client, session_hash)
        await asyncio.sleep(max(0.0, next_time - time.monotonic()))
    return results


# ---------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------


def train_data(args, seed: int) -> list:
    return ["adam", 0.001, 64, "steps", args.steps, args.train_size, args.hidden, seed, "random"]


async def memory_phase(url: str, curve: MemoryCurve, args) -> None:
    print(
        f"\nmemory: {args.sessions:,} sessions, then {args.runs} runs ({args.steps} steps on "
        f"{args.train_size} images, {args.hidden} hidden), then idle {args.idle:g} s + sweeps"
    )
    await asyncio.sleep(3)
    curve.mark("start")
    hashes = [f"mem-{i}-{uuid.uuid4().hex[:6]}" for i in range(args.sessions)]
    async with http_client() as client:
        canvas = drawing(0)
        strokes = await many(
            (timed(call(client, url, "predict", [canvas], h)) for h in hashes), at_once=16
        )
        curve.mark(summary(f"{args.sessions:,} sessions created (one stroke each)", strokes))
        runs = await many(
            (
                timed(call(client, url, "train", train_data(args, i), hashes[i % len(hashes)]))
                for i in range(args.runs)
            ),
            at_once=20,
        )
        curve.mark(summary(f"{args.runs} runs", runs))
    wait = args.idle + 40  # past the expiry, plus a sweep (every idle/4 s, at most 30 s)
    curve.mark(f"idle for {wait:g} s")
    await asyncio.sleep(wait)
    curve.mark("end")


def png_data_url(side: int) -> str:
    """A transparent side x side PNG with ink in two opposite corners: its crop is the
    whole picture (review 2, finding 3)."""
    from PIL import Image

    pixels = np.zeros((side, side, 4), np.uint8)
    pixels[:8, :8, 3] = 255
    pixels[-8:, -8:, 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, "PNG", compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def flood(client, url: str, picture: str, end: float, number: int) -> list:
    """One client sending `picture` again and again until `end`, each from a new session
    (as a script would), waiting for each answer: one request in flight."""
    results = []
    while time.monotonic() < end:
        session_hash = f"flood-{number}-{uuid.uuid4().hex[:6]}"
        results.append(await timed(call(client, url, "predict", [picture], session_hash)))
    return results


async def png_phase(url: str, curve: MemoryCurve | None, args) -> None:
    print(
        f"\npng: one student draws every {STROKE_EVERY} s for {args.seconds:g} s per part, "
        f"parts taken in turn {args.rounds} time(s)"
    )
    side = MAX_DRAWING_SIDE
    parts = {
        "student alone": None,
        "8 clients in flight sending a normal drawing": drawing(2),
        "8 clients in flight sending a 5656x5656 PNG": png_data_url(5656),
        f"8 clients in flight sending a {side}x{side} PNG (the largest read)": png_data_url(side),
    }
    pooled = {name: ([], []) for name in parts}  # the student's strokes, the flood's
    async with http_client() as client:
        for round_number in range(1, args.rounds + 1):
            for name, picture in parts.items():
                end = time.monotonic() + args.seconds
                floods = (
                    []
                    if picture is None
                    else [flood(client, url, picture, end, n) for n in range(8)]
                )
                before = curve.now()[0] if curve else float("nan")
                student, *flooded = await asyncio.gather(
                    drawing_student(client, url, args.seconds), *floods
                )
                after = curve.now()[0] if curve else float("nan")
                pooled[name][0].extend(student)
                pooled[name][1].extend(r for results in flooded for r in results)
                print(
                    f"  round {round_number}, {name}: {summary('student', student)}; "
                    f"server RSS {before:,.0f} -> {after:,.0f} MB",
                    flush=True,
                )
    print("  pooled:")
    for name, picture in parts.items():
        student, flooded = pooled[name]
        size = f" ({len(picture):,} characters)" if picture else ""
        print(f"  {name}{size}:\n    {summary('student', student)}")
        if flooded:
            print(f"    {summary('the flood', flooded)}")


async def body_phase(url: str, curve: MemoryCurve | None) -> None:
    import httpx

    print("\nbody: 100 MB request bodies to /gradio_api/queue/join")
    body = b'{"data": ["' + b"x" * (100 * MB) + b'"], "fn_index": 0, "session_hash": "big"}'
    before = curve.now()[0] if curve else float("nan")

    async def send(content, label: str) -> str:
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                response = await client.post(
                    f"{url}/gradio_api/queue/join",
                    content=content,
                    headers={"content-type": "application/json"},
                )
            answer = f"HTTP {response.status_code} {response.text[:80]!r}"
        except httpx.HTTPError as error:
            answer = f"{type(error).__name__} (the server closed the connection)"
        return f"  {label}: {answer} in {time.monotonic() - started:.2f} s"

    async def chunks():
        for start in range(0, len(body), MB):
            yield body[start : start + MB]

    print(await send(body, "with Content-Length"))
    print(await send(chunks(), "in chunks, no length"))
    for line in await asyncio.gather(*(send(body, f"4 at once, #{i + 1}") for i in range(4))):
        print(line)
    await asyncio.sleep(2)
    after = curve.now()[0] if curve else float("nan")
    print(f"  server RSS {before:,.0f} -> {after:,.0f} MB ({after - before:+,.0f} MB)")


async def upload_phase(url: str, cache: Path) -> None:
    import httpx

    print("\nupload: files to /gradio_api/upload")
    before = sum(1 for path in cache.rglob("*") if path.is_file())
    async with httpx.AsyncClient(timeout=60) as client:
        for count, size in ((1, 1024), (100, 1024 * 1024)):
            files = [("files", (f"f{i}.png", os.urandom(size), "image/png")) for i in range(count)]
            started = time.monotonic()
            response = await client.post(f"{url}/gradio_api/upload", files=files)
            print(
                f"  {count} file(s) of {size:,} bytes: HTTP {response.status_code} "
                f"{response.text[:60]!r} in {time.monotonic() - started:.2f} s"
            )
    after = sum(1 for path in cache.rglob("*") if path.is_file())
    print(f"  files in Gradio's cache: {before} before, {after} after")


def default_inputs(config: dict, api_name: str) -> tuple[int, list]:
    """(fn_index, the inputs' values as the page first shows them) of an endpoint."""
    values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
    for dependency in config["dependencies"]:
        if dependency.get("api_name") == api_name:
            return dependency["id"], [values.get(i) for i in dependency["inputs"]]
    raise SystemExit(f"no endpoint {api_name!r}")


async def queue_size(client, url: str) -> int:
    response = await client.get(f"{url}/gradio_api/queue/status")
    return response.json()["queue_size"]


async def queue_hog_phase(url: str, args) -> None:
    import httpx

    config = httpx.get(f"{url}/config", timeout=30).json()
    train_index, _ = default_inputs(config, "train")
    _, cross_entropy_inputs = default_inputs(config, "cross_entropy")
    print(
        f"\nqueue-hog: /train joins from made-up sessions for {args.hog_seconds:g} s (never "
        "read), one student drawing and using the Cross-entropy tab"
    )
    joins = {"accepted": 0, "refused": 0}

    async def join(client, number: int) -> None:
        data = [*HOG_SETTINGS, number, "random", "single", False, None]  # ..., seed, init, ...
        response = await client.post(
            f"{url}/gradio_api/queue/join",
            json={"data": data, "fn_index": train_index, "session_hash": f"hog{number}"},
        )
        joins["accepted" if response.status_code == 200 else "refused"] += 1

    async def hog(client, end: float) -> None:
        await asyncio.gather(*(join(client, n) for n in range(205)))
        number = 205
        while time.monotonic() < end:
            await join(client, number)
            number += 1
            await asyncio.sleep(0.2)

    cross_entropy = []

    async def also(client, session_hash: str) -> None:
        cross_entropy.append(
            await timed(call(client, url, "cross_entropy", cross_entropy_inputs, session_hash))
        )

    async with http_client(300) as client:
        started = time.monotonic()
        student, _ = await asyncio.gather(
            drawing_student(client, url, args.hog_seconds, also),
            hog(client, started + args.hog_seconds),
        )
        print(f"  hog joins: {joins['accepted']} accepted, {joins['refused']} refused")
        print("  " + summary("student's strokes", student))
        print("  " + summary("student's Cross-entropy calls", cross_entropy))
        await backlog(client, url, args.backlog_seconds)
        await first_real_run(client, url, train_index)


async def first_real_run(client, url: str, train_index: int) -> None:
    """A real student presses Train right after the hog stops (and reads the stream): how
    long until their run trains. The hog's presses still in the class's run queue are
    dropped once their pages are seen not to read (classroom/run_queue.py)."""
    data = ["adam", 0.001, 64, "steps", 100, 60000, 128, 0, "random", "single", False, None]
    started, refused = time.monotonic(), 0
    while time.monotonic() - started < 120:
        response = await client.post(
            f"{url}/gradio_api/queue/join",
            json={"data": data, "fn_index": train_index, "session_hash": "real-student"},
        )
        if response.status_code == 200:
            break
        refused += 1  # the run queue is still full of the hog's presses: try again
        await asyncio.sleep(1)
    async with client.stream(
        "GET", f"{url}/gradio_api/queue/data", params={"session_hash": "real-student"}
    ) as stream:
        async for line in stream.aiter_lines():
            if "step " in line and " of " in line and "ahead" not in line:
                waited = time.monotonic() - started
                print(
                    f"  a real student's press after the stop: refused {refused} time(s), "
                    f"training after {waited:.1f} s"
                )
                return
    print("  a real student's press after the stop: its stream ended without a run")


async def backlog(client, url: str, wait: float) -> None:
    """How long the queue takes to empty after the hog stops (waited for at most `wait` s,
    then extrapolated from the rate it went down)."""
    at_stop, started = await queue_size(client, url), time.monotonic()
    size = at_stop
    while size > 0 and time.monotonic() - started < wait:
        await asyncio.sleep(1)
        size = await queue_size(client, url)
    waited = time.monotonic() - started
    if size == 0:
        print(f"  backlog: {at_stop} events at the stop, gone after {waited:.0f} s")
        return
    rate = (at_stop - size) / waited
    guess = f"about {size / rate / 60:,.0f} more minutes at that rate" if rate else "not moving"
    print(
        f"  backlog: {at_stop} events at the stop, still {size} after {waited:.0f} s "
        f"({rate * 60:.1f} a minute): {guess}"
    )


# ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phases", default="memory,png,body,upload", help="comma-separated")
    parser.add_argument("--sessions", type=int, default=2000, help="memory: new sessions")
    parser.add_argument("--runs", type=int, default=300, help="memory: training runs")
    parser.add_argument("--steps", type=int, default=5, help="memory: steps per run")
    parser.add_argument("--train-size", type=int, default=100, help="memory: images per run")
    parser.add_argument("--hidden", type=int, default=128, help="memory: hidden width")
    parser.add_argument("--idle", type=float, default=60.0, help="session expiry (s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="png: seconds per part")
    parser.add_argument("--rounds", type=int, default=2, help="png: rounds of the parts")
    parser.add_argument("--hog-seconds", type=float, default=60.0, help="queue-hog: length")
    parser.add_argument(
        "--backlog-seconds", type=float, default=60.0, help="queue-hog: wait for the backlog"
    )
    args = parser.parse_args()
    phases = args.phases.split(",")

    cache = Path(tempfile.mkdtemp(prefix="abuse-cache-"))
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    os.environ["MNIST_SESSION_IDLE_SECONDS"] = str(args.idle)
    log_path = Path(tempfile.mkdtemp(prefix="abuse-")) / "server.log"
    server, url = start_server(log_path)
    curve = None
    try:
        wait_until_up(url, server)
        print(f"app from {PROJECT_ROOT} at {url}, log {log_path}, cache {cache}")
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
        curve = MemoryCurve(server.pid)
        for phase in phases:
            if phase == "memory":
                asyncio.run(memory_phase(url, curve, args))
            elif phase == "png":
                asyncio.run(png_phase(url, curve, args))
            elif phase == "body":
                asyncio.run(body_phase(url, curve))
            elif phase == "upload":
                asyncio.run(upload_phase(url, cache))
            elif phase == "queue-hog":
                asyncio.run(queue_hog_phase(url, args))
            else:
                raise SystemExit(f"unknown phase {phase!r}")
        curve.stop()
        if "memory" in phases:
            curve.print_curve()
        log = log_path.read_text()
        print(
            f"\nserver log: {len(log):,} characters, longest line {max(map(len, log.splitlines() or ['']))}"
        )
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        if curve is not None:
            curve.stop()
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
