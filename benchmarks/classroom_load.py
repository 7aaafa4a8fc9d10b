"""A class at once: students drawing while others train, against one app on this machine.

    python benchmarks/classroom_load.py                          # 30 students, 3 runs, 30 s
    python benchmarks/classroom_load.py --students 10 --runs 0 --duration 10
    python benchmarks/classroom_load.py --url http://127.0.0.1:7860  # an app already running
    python benchmarks/classroom_load.py --rounds 3 --duration 20  # phases taken in turns

Starts the app of mnist_demo/ui/app.py in a child process and runs two phases (more with
`--phases`), each `--duration` seconds after `--warmup` seconds that are not counted:

1. predict: N students each send their drawing to /predict every 0.5 s (as the browser's
   pad does: the canvas as a PNG data URL in the event), while K other students train:
   each starts a /train run (the Train tab's defaults: Adam, 1 epoch of 60,000 images) and
   starts the next one when it ends: one run trains and the rest wait in the queue.
2. ping: the same load (the same drawings) against /ping, a trivial endpoint of the same
   app: Gradio's own floor (HTTP, queue, threads), with the same runs training.
   `--phases predict,ping,ping-async` adds /ping_async, the same as a coroutine: Gradio
   awaits it on its event loop, with no worker thread, as it does /predict's handler.

Prints, per phase: latency p50/p95/p99 (request + queue + handler + answer), requests,
errors, rejected requests (HTTP 503: queue full), training runs finished and their speed;
then predict's p95 over ping's and the server's peak memory. With `--rounds N` the phases
are run N times in turn and pooled, so that both meet the same ups and downs of a shared
machine (this VM's CPU time varies with its host's load: see the round-by-round ratios, and
run benchmarks/host_cpu.py first). Targets: no errors, predict
p95 under 250 ms and at most 2x ping's, peak memory under 1.5 GB. Asserts nothing about
time.

The students speak Gradio's HTTP API (/gradio_api/call, as the browser and gradio_client
do) from one asyncio loop, because the load generator shares the server's 2 cores; its
CPU time is printed. `--via gradio_client` sends the drawings through gradio_client
instead (one Client and thread per student): measured here, 30 such students used 1.7 of
the 2 cores and managed only 30 of the 60 strokes per second, so they measure the load
generator more than the app.
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]  # run as a plain script
from stats import percentile  # noqa: E402 (benchmarks/stats.py)

PREDICT_EVERY = 0.5  # seconds between two strokes of one student
TRAIN_SETTINGS = [
    "adam",
    0.001,
    64,
    "epochs",
    1,
    60000,
    128,
    0,
    "random",
    "single",
    False,
]  # defaults
REQUEST_TIMEOUT = 60.0


# ---------------------------------------------------------------------------------------
# The app under test (child process)
# ---------------------------------------------------------------------------------------


def ping(drawing: str = "") -> str:
    """A trivial endpoint: what a request costs in Gradio itself, whatever the handler.

    It takes a drawing like /predict does (and ignores it), so the same requests can be
    sent to both.
    """
    return "pong"


async def ping_async(drawing: str = "") -> str:
    """/ping as a coroutine: Gradio awaits it on its event loop, with no worker thread, as
    it does the Draw tab's stroke handler. The floor for that kind of handler."""
    return "pong"


def add_floors(demo) -> None:
    """Add /ping and /ping_async to the app (the app itself ships without them)."""
    import gradio as gr

    with demo:
        for function, name in ((ping, "ping"), (ping_async, "ping_async")):
            gr.api(
                function,
                api_name=name,
                concurrency_limit=8,
                concurrency_id=name,
                api_visibility="undocumented",
            )


def serve(port: int) -> None:
    """The app as app.py launches it, on `port`, plus the /ping floors."""
    from mnist_demo.ui.app import build_demo, launch_options, prepare_to_serve

    demo = build_demo()
    add_floors(demo)
    prepare_to_serve(demo)
    print(f"serving mnist_demo.ui.app.build_demo() on port {port}", flush=True)
    demo.launch(server_port=port, quiet=True, **launch_options())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False"}
    env.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="classroom-load-"))
    log = open(log_path, "w")  # noqa: SIM115 (the child writes to it until the end)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=PROJECT_ROOT,
    )
    return server, f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------------------------
# Measuring the server from outside
# ---------------------------------------------------------------------------------------


def memory_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MB (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def proportional_mb(pid: int) -> tuple[float, int]:
    """(memory of a process and its children, how many processes), in MB (Linux PSS: each
    page shared by n processes counts 1/n in each, so the sum is what they use together)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for process in [pid, *map(int, children)]:
        for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) / 1024
    return total, 1 + len(children)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> list[int]:
    """The whole machine's CPU time so far, from /proc/stat, in ticks: [idle (waiting for
    disk included), stolen, all]. Stolen: time this VM's CPUs were ready to run while its
    host ran something else. Printed for each round (warm-up included) with --rounds > 1."""
    ticks = [int(count) for count in Path("/proc/stat").read_text().split(maxsplit=11)[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    return [idle + iowait, steal, sum(ticks)]


def machine_share(before: list[int], after: list[int]) -> str:
    """How the machine's CPU time went between two `machine_ticks()`."""
    idle, stolen, total = (later - earlier for earlier, later in zip(before, after, strict=True))
    return f"CPU idle {idle / max(total, 1):.0%}, stolen by the host {stolen / max(total, 1):.1%}"


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------
# The load: Gradio's HTTP API, as the browser and gradio_client use it
# ---------------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, counted requests only
    errors: list[str] = field(default_factory=list)
    rejected: int = 0
    runs: list[str] = field(default_factory=list)  # final status of each training run

    def count(self, sent: float, measure_from: float, error: Exception | None = None) -> None:
        """File one stroke sent at `sent` (time.monotonic()): its latency, or its failure.
        Strokes sent during the warm-up are not counted."""
        if sent < measure_from:
            return
        if error is None:
            self.latencies.append(time.monotonic() - sent)
        elif (
            isinstance(error, Rejected)
            or "503" in str(error)
            or "queue is full" in str(error).lower()
        ):
            self.rejected += 1
        else:
            self.errors.append(f"{type(error).__name__}: {error}"[:200])


class Rejected(Exception):
    """The queue was full (HTTP 503)."""


async def call(client, url: str, api_name: str, data: list, session_hash: str) -> list:
    """One event through /gradio_api/call: join the queue, then read its stream to the end."""
    response = await client.post(
        f"{url}/gradio_api/call/{api_name}", json={"data": data, "session_hash": session_hash}
    )
    if response.status_code == 503:
        raise Rejected(response.text)
    response.raise_for_status()
    event_id = response.json()["event_id"]
    event = None
    async with client.stream("GET", f"{url}/gradio_api/call/{api_name}/{event_id}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                if event == "error":
                    raise RuntimeError(f"{api_name}: {payload}")
                return payload
    raise RuntimeError(f"{api_name}: the stream ended without a result")


def drawing(student: int) -> str:
    """One student's canvas as the pad sends it: a PNG data URL (a few KB)."""
    from drawings import DIGIT_STROKES, canvas_data_url, draw_layer

    digits = sorted(DIGIT_STROKES)
    shift = (student * 7) % 40
    layer = draw_layer(digits[student % len(digits)], (50 + shift, 40, 210 + shift, 240))
    return canvas_data_url(layer)


async def drawing_student(
    client, url, student, students, api_name, start, measure_from, end, tally, every
):
    """Sends a stroke every `every` s, or right after the answer if that came later
    (the pad sends the latest drawing once the previous answer is in)."""
    canvas = drawing(student)
    session_hash = f"student-{student}-{uuid.uuid4().hex[:8]}"
    await asyncio.sleep(start - time.monotonic() + (student / students) * every)  # staggered
    next_time = time.monotonic()
    while next_time < end:
        await asyncio.sleep(max(0.0, next_time - time.monotonic()))
        sent = time.monotonic()
        try:
            await call(client, url, api_name, [canvas], session_hash)
            tally.count(sent, measure_from)
        except Exception as error:  # noqa: BLE001 (every failure is counted and shown)
            tally.count(sent, measure_from, error)
        next_time = max(next_time + every, time.monotonic())  # no catch-up bursts


async def training_student(client, url, student, fn_index, end, tally):
    """Keeps one run going: starts the next when one ends; cancels the last at `end`."""
    session_hash = f"trainer-{student}-{uuid.uuid4().hex[:8]}"
    while time.monotonic() < end:
        response = await client.post(
            f"{url}/gradio_api/call/train",
            json={"data": TRAIN_SETTINGS, "session_hash": session_hash},
        )
        if response.status_code == 503:
            tally.rejected += 1
            await asyncio.sleep(1)
            continue
        event_id = response.json()["event_id"]
        try:
            final = await asyncio.wait_for(
                read_final(client, url, event_id), timeout=max(0.1, end - time.monotonic())
            )
            tally.runs.append(final)
        except TimeoutError:  # the phase is over: stop this run (the Stop button's request)
            await client.post(
                f"{url}/gradio_api/cancel",
                json={"session_hash": session_hash, "fn_index": fn_index, "event_id": event_id},
            )
        except Exception as error:  # noqa: BLE001
            tally.errors.append(f"train: {type(error).__name__}: {error}"[:200])


async def read_final(client, url: str, event_id: str) -> str:
    """The final status line of a training run."""
    status = ""
    event = None
    async with client.stream("GET", f"{url}/gradio_api/call/train/{event_id}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("generating", "complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                if event == "error":
                    raise RuntimeError(payload)
                if isinstance(payload, list) and isinstance(payload[0], str):
                    status = payload[0]
                if event == "complete":
                    return status
    return status


def gradio_client_students(clients, url, api_name, start, measure_from, end, tally, every):
    """The drawing students through gradio_client: one Client (made by the caller) and one
    thread each."""
    import threading

    def student(number: int) -> None:
        canvas = drawing(number)
        next_time = start + (number / len(clients)) * every
        while next_time < end:
            time.sleep(max(0.0, next_time - time.monotonic()))
            sent = time.monotonic()
            try:
                clients[number].predict(canvas, api_name=f"/{api_name}")
                tally.count(sent, measure_from)
            except Exception as error:  # noqa: BLE001 (every failure is counted and shown)
                tally.count(sent, measure_from, error)
            next_time = max(next_time + every, time.monotonic())

    threads = [threading.Thread(target=student, args=(number,)) for number in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def run_phase(
    url, api_name, students, runs, duration, warmup, fn_index, every, via="http"
) -> Tally:
    import httpx

    tally = Tally()
    clients = []
    if via == "gradio_client":  # connected before the clock starts (~0.1 s each)
        from gradio_client import Client

        clients = [Client(url, verbose=False) for _ in range(students)]
    limits = httpx.Limits(max_connections=students * 2 + runs * 2 + 10)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as client:
        start = time.monotonic() + 0.5
        measure_from = start + warmup
        end = measure_from + duration
        if via == "gradio_client":
            tasks = [
                asyncio.to_thread(
                    gradio_client_students,
                    clients,
                    url,
                    api_name,
                    start,
                    measure_from,
                    end,
                    tally,
                    every,
                )
            ]
        else:
            tasks = [
                drawing_student(
                    client, url, s, students, api_name, start, measure_from, end, tally, every
                )
                for s in range(students)
            ]
        tasks += [training_student(client, url, k, fn_index, end, tally) for k in range(runs)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for gradio_client in clients:
                gradio_client.close()
    return tally


def train_fn_index(url: str) -> int:
    import httpx

    config = httpx.get(f"{url}/config", timeout=30).json()
    for dependency in config["dependencies"]:
        if dependency.get("api_name") == "train":
            return dependency["id"]
    raise SystemExit("The app has no /train endpoint (is the Train tab wired in app.py?)")


def wait_until_up(url: str, server: subprocess.Popen | None, timeout: float = 120) -> None:
    import httpx

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"the app exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/config", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the app did not start within {timeout:g} s")


def report(name: str, tally: Tally, duration: float, server_cpu: float, own_cpu: float) -> None:
    ms = [s * 1000 for s in tally.latencies]
    print(f"\n{name}")
    if ms:
        print(
            f"  latency  p50 {percentile(ms, 50):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms   "
            f"p99 {percentile(ms, 99):6.1f} ms   max {max(ms):6.1f} ms   mean {statistics.mean(ms):6.1f} ms"
        )
    print(
        f"  requests {len(ms)} answered ({len(ms) / duration:.1f}/s), {len(tally.errors)} errors, "
        f"{tally.rejected} rejected (queue full)"
    )
    for error in sorted(set(tally.errors))[:5]:
        print(f"    error: {error}")
    finished = [run for run in tally.runs if run]
    speeds = [float(s.replace(",", "")) for r in finished for s in _samples_per_second(r)]
    print(
        f"  training runs finished: {len(finished)}"
        + (f"; {finished[-1][:110]}" if finished else "")
    )
    if speeds:
        print(f"  training speed: {statistics.mean(speeds):,.0f} samples/s per run (mean)")
    print(
        f"  CPU used: server {server_cpu:.1f} s, load generator {own_cpu:.1f} s (of {2 * duration:.0f} core-s)"
    )


def _samples_per_second(status: str) -> list[str]:
    """'Trained 938 steps in 2.4 s.' -> samples/s of a finished default run (batch 64)."""
    import re

    match = re.search(r"Trained ([\d,]+) steps in ([\d.]+) s", status)
    if not match:
        return []
    steps, seconds = int(match.group(1).replace(",", "")), float(match.group(2))
    return [str(steps * TRAIN_SETTINGS[2] / max(seconds, 1e-9))]


def endpoint_and_runs(phase: str, runs: int) -> tuple[str, int]:
    """A phase's endpoint and how many train meanwhile: idle-predict is /predict, none;
    ping-async is /ping_async."""
    if phase == "idle-predict":
        return "predict", 0
    return phase.replace("-", "_"), runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=30, help="students drawing (default: 30)")
    parser.add_argument(
        "--runs", type=int, default=3, help="students training at once (default: 3)"
    )
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds measured per phase (default: 30)"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of load before measuring (default: 3)"
    )
    parser.add_argument(
        "--phases",
        default="predict,ping",
        help="comma-separated, from: predict, ping, ping-async (/ping as a coroutine), "
        "idle-predict (no training) (default: predict,ping)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the phases this many times in turn and pool each phase's requests: the "
        "phases then share the machine's ups and downs (default: 1)",
    )
    parser.add_argument(
        "--every",
        type=float,
        default=PREDICT_EVERY,
        help=f"seconds between two strokes of one student (default: {PREDICT_EVERY})",
    )
    parser.add_argument(
        "--via",
        choices=["http", "gradio_client"],
        default="http",
        help="how the drawing students send their strokes (default: http, see above)",
    )
    parser.add_argument("--url", default=None, help="an app already running (default: start one)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=7860, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port)
        return

    server, log_path = None, Path(tempfile.mkdtemp(prefix="classroom-load-")) / "server.log"
    url = args.url
    if url is None:
        server, url = start_server(log_path)
    try:
        wait_until_up(url, server)
        if server is not None:
            print(Path(log_path).read_text().strip().splitlines()[0])
        print(
            f"{args.students} students drawing (one stroke every {args.every} s each), "
            f"{args.runs} training; {args.duration:g} s per phase after {args.warmup:g} s warm-up; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the start "
            f"(other programs on this machine share the CPUs)"
        )
        fn_index = train_fn_index(url)
        phases = args.phases.split(",")
        tallies = {phase: Tally() for phase in phases}
        cpu_used = {phase: [0.0, 0.0] for phase in phases}  # server, load generator
        round_p95s = []
        for round_number in range(1, args.rounds + 1):
            round_p95s.append({})
            for phase in phases:
                api_name, runs = endpoint_and_runs(phase, args.runs)
                cpu_before = cpu_seconds(server.pid) if server else float("nan")
                own_before = own_cpu_seconds()
                machine_before = machine_ticks()
                tally = asyncio.run(
                    run_phase(
                        url,
                        api_name,
                        args.students,
                        runs,
                        args.duration,
                        args.warmup,
                        fn_index,
                        args.every,
                        args.via,
                    )
                )
                cpu_used[phase][0] += (
                    cpu_seconds(server.pid) - cpu_before if server else float("nan")
                )
                cpu_used[phase][1] += own_cpu_seconds() - own_before
                for name in ("latencies", "errors", "runs"):
                    getattr(tallies[phase], name).extend(getattr(tally, name))
                tallies[phase].rejected += tally.rejected
                if tally.latencies:
                    round_p95s[-1][phase] = percentile(tally.latencies, 95) * 1000
                if args.rounds > 1:
                    print(
                        f"round {round_number}, {phase}: p95 "
                        f"{round_p95s[-1].get(phase, float('nan')):.1f} ms "
                        f"({machine_share(machine_before, machine_ticks())})",
                        flush=True,
                    )
                time.sleep(1.0)  # let cancelled runs settle before the next phase
        p95s = {}
        for phase in phases:
            api_name, runs = endpoint_and_runs(phase, args.runs)
            title = f"{phase}: {args.students} students -> /{api_name}, {runs} training"
            if args.rounds > 1:
                title += f" ({args.rounds} rounds pooled)"
            measured = args.duration * args.rounds
            report(title, tallies[phase], measured, *cpu_used[phase])
            if tallies[phase].latencies:
                p95s[phase] = percentile(tallies[phase].latencies, 95) * 1000
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
        for floor in ("ping", "ping-async"):
            if "predict" in p95s and floor in p95s:
                print(
                    f"\npredict p95 / {floor} p95 (both while {args.runs} train): "
                    f"{p95s['predict']:.1f} / {p95s[floor]:.1f} ms = "
                    f"{p95s['predict'] / p95s[floor]:.2f}x"
                    + (" (target: at most 2x)" if floor == "ping" else "")
                )
                if args.rounds > 1:
                    ratios = [
                        r["predict"] / r[floor] for r in round_p95s if "predict" in r and floor in r
                    ]
                    print("  round by round: " + ", ".join(f"{ratio:.2f}x" for ratio in ratios))
        if server is not None:
            current, peak = memory_mb(server.pid)
            print(
                f"\nserver memory: peak {peak:,.0f} MB, now {current:,.0f} MB (target: peak < 1,500 MB)"
            )
            together, processes = proportional_mb(server.pid)
            print(
                f"  now, with its {processes - 1} child process(es) (the Draw tab's stroke process"
                f"): {together:,.0f} MB (PSS: pages they share counted once)"
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
