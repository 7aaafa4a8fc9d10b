"""Pointer-up to every output on screen, in Chromium: the Draw tab beside a bare Gradio echo.

    python benchmarks/browser_latency.py                 # 60 digits on each app, in turns
    python benchmarks/browser_latency.py --digits 20 --panels
    python benchmarks/browser_latency.py --load          # + 30 students drawing through the API
    python benchmarks/browser_latency.py --profile       # + CDP metrics and traces, digit 1 vs N
    python benchmarks/browser_latency.py --run-history kept  # both apps with Gradio's run history
    python benchmarks/browser_latency.py --floor         # + a third app: Gradio alone (below)

Issue 16, parts 2 and 3. Two apps (three with --floor) are launched in child processes on
free ports:

- app: mnist_demo.ui.app's build_demo(), served as app.py serves it (prepare_to_serve,
  launch_options: strokes answered in the stroke process).
- bare: the least the same job needs in Gradio: the same pad (mnist_demo.ui.drawing_pad's
  DrawingPad, a gr.HTML with pad.js: on pointer-up it sets its value to the canvas's PNG
  data URL, which sends `change`) wired like the Draw tab's stroke (an async handler,
  preprocess/postprocess off, show_progress hidden, trigger_mode always_last), whose handler
  echoes the data URL back into an `<img>` in a gr.HTML.
- floor (with --floor): what Gradio alone costs to show the Draw tab's answers: the same
  pad and event (the pad and a gr.State in, the tab's eight outputs out), whose handler
  hands back the tab's real answers to these drawings, computed before the start. App over
  floor is what the app's own work costs the student; floor over bare is Gradio's.

Debian's Chromium (headless, driven by Playwright) opens each app in its own page; a real
mouse draws the same digits (tests/drawings.py, as tests/test_browser.py draws them) in
turns on both pages, one digit on the app, then the same digit on the bare echo, and so on.
Each digit: its strokes, one at a time, each timed; then Clear (waited for, not timed). One
warm-up digit per page comes first and is not counted.

What a stroke's time is, measured in the page (performance.now(), one clock):

    pointer-up  (the pointerup event's timeStamp)
    -> sent     (the page's fetch to /gradio_api/queue/join: the request leaves)
    -> answer   (the "process_completed" message read from the /queue/data event stream)
    -> DOM      (the last change to the outputs' real content after the answer: a
                 MutationObserver on the outputs' elements, ignoring class and style changes,
                 which is where Gradio's pending/progress markers live)
    -> painted  (the next frame after that change: requestAnimationFrame, then a task)

A stroke ends once the outputs have been quiet for QUIET_MS after the answer and the 28x28
picture (the bare: the echoed <img>) shows the new drawing. Printed: the median and p95 of
pointer-up -> painted per app, the ratio app/bare (target: at most 1.3x), where the time
goes (medians of each step), and the medians over digits 1-20, 21-40, 41-60... (target: the
app's last block within 1.2x of its first). With --load, 30 students draw through the HTTP
API (benchmarks/classroom_load.py's student loop) while the browser draws --load-digits more
digits on each page: the app's p95 under load over its idle median (target: at most 2x).
With --profile, Chrome's Performance.getMetrics after a forced GC, after digit 1 and after
the last digit, and what grew; and a performance trace of one extra digit at the start and
at the end, summarised by the main thread's self time per event kind (the traces are
saved for Chrome's DevTools). Always printed: what Gradio 6's run history holds in each
page's localStorage after digit 1 and after the last digit. Both apps are served alike: by
default with the run history as app.py serves it (off since issue 16: launch_options'
run_history=False), `--run-history kept` serves both with it, to see what it costs.

This machine's CPUs are shared: the host's load and CPU time stolen by the hypervisor are
printed beside each block of figures. Asserts nothing about time.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests"), str(BENCHMARKS)]
from classroom_load import (  # noqa: E402 (benchmarks/classroom_load.py)
    Tally,
    drawing_student,
    free_port,
    machine_share,
    machine_ticks,
    wait_until_up,
)

from stats import percentile  # noqa: E402 (benchmarks/stats.py)

QUIET_MS = 300  # outputs unchanged this long after the answer: the stroke is over
STROKE_TIMEOUT_MS = 30_000
BLOCK = 20  # digits per block of the slowdown's medians
VIEWPORT = {"width": 1280, "height": 1000}

# Each digit drawn: one of tests/drawings.py's digits in one of these boxes (canvas pixels,
# left, top, right, bottom, of the 280x280 pad). 4 digits x 5 boxes = 20 drawings, the
# same 20 in every block of 20 digits, so the blocks are alike.
DRAWN_DIGITS = (0, 1, 4, 7)
BOXES = (
    (60, 40, 220, 240),
    (40, 30, 170, 220),
    (110, 60, 250, 250),
    (70, 50, 200, 200),
    (30, 80, 190, 260),
)

APP_OUTPUTS = ["#draw-answer", "#draw-bars", "#draw-seen", "#draw-numbers"]
PANEL_OUTPUTS = ["#draw-meant", "#draw-curve", "#draw-why", "#draw-inside"]
APP_PICTURE = "#draw-seen img"  # must show the new drawing before a stroke counts as done
BARE_OUTPUTS = ["#echo"]
BARE_PICTURE = "#echo img"
MEANT = 7  # the digit chosen as meant with --panels
STEPS = ("up->sent", "sent->answer", "answer->DOM", "DOM->painted")


# ---------------------------------------------------------------------------------------
# The two apps (child processes)
# ---------------------------------------------------------------------------------------


def kept_run_history(choice: str) -> bool:
    """Whether both apps keep Gradio's run history: "as-served" is what app.py serves."""
    if choice == "as-served":
        from mnist_demo.ui.app import launch_options

        return launch_options()["run_history"]
    return choice == "kept"


def serve_app(port: int, run_history: str = "as-served") -> None:
    """The app as app.py launches it."""
    from mnist_demo.ui.app import build_demo, launch_options, prepare_to_serve

    demo = build_demo()
    prepare_to_serve(demo)
    options = launch_options() | {"run_history": kept_run_history(run_history)}
    demo.launch(server_port=port, quiet=True, **options)


# The bare apps' stroke event, wired as the Draw tab's (ui/draw_tab.py).
STROKE_WIRING = {
    "preprocess": False,
    "postprocess": False,
    "show_progress": "hidden",
    "trigger_mode": "always_last",
    "concurrency_limit": 8,
}


async def echo(canvas: str) -> str:
    """The bare app's handler: the pad's PNG data URL back into an <img>."""
    if not canvas:
        return "<p>Nothing drawn yet.</p>"
    return f'<img src="{canvas}" width="280" height="280" alt="the drawing, echoed">'


def serve_bare(port: int, run_history: str = "as-served") -> None:
    """The floor: the same pad and stroke wiring as the Draw tab, one output echoing it,
    launched with the app's run history (a page that keeps it is slower: compare alike)."""
    import gradio as gr

    from mnist_demo.ui.drawing_pad import DrawingPad

    with gr.Blocks(title="bare echo") as demo:
        with gr.Row():
            pad = DrawingPad()
            shown = gr.HTML("<p>Nothing drawn yet.</p>", elem_id="echo")
        pad.change(echo, [pad], [shown], api_name="echo", **STROKE_WIRING)
    demo.queue()
    demo.launch(server_port=port, quiet=True, run_history=kept_run_history(run_history))


def floor_answers(outputs: list, panels: bool = False) -> tuple[list, list]:
    """(the Draw tab's real answers to this benchmark's drawings, stroke by stroke, in the
    order they are drawn; its answer to an empty pad), each as the browser receives it;
    with `panels`, as open_panels() leaves the tab: a meant digit, "why" and "inside" open."""
    from mnist_demo.ui.draw_tab import classify_drawing, empty_view
    from mnist_demo.ui.strokes import postprocessed_for_browser

    from browser_helpers import digit_strokes
    from drawings import canvas_data_url, render_strokes

    meant, shown = (MEANT, ("why", "inside")) if panels else (None, ())
    answers = []
    for number in range(len(DRAWN_DIGITS) * len(BOXES)):
        strokes = digit_strokes(*drawing_of(number))
        for drawn in range(1, len(strokes) + 1):
            canvas = canvas_data_url(render_strokes(strokes[:drawn]))
            view = classify_drawing(canvas, None, meant, shown)
            answers.append(postprocessed_for_browser(outputs, view))
    return answers, postprocessed_for_browser(outputs, empty_view(meant))


def serve_floor(port: int, run_history: str = "as-served", panels: bool = False) -> None:
    """What Gradio alone costs to show the Draw tab's answers: the same pad, the same event
    (the pad and a gr.State in, the tab's eight outputs out, as components of the same
    kinds and ids), whose handler computes nothing: it hands back the tab's real answers to
    the benchmark's drawings, computed before the start, one after another."""
    import itertools

    import gradio as gr

    from mnist_demo.ui.draw_tab import empty_view
    from mnist_demo.ui.drawing_pad import DrawingPad

    empty = empty_view()
    with gr.Blocks(title="answers floor") as demo:
        session = gr.State()
        with gr.Row():
            pad = DrawingPad()
            with gr.Column():
                answer = gr.Markdown(empty.answer, elem_id="draw-answer")
                bars = gr.HTML(empty.bars, container=True, elem_id="draw-bars")
            seen = gr.HTML(empty.seen, container=True, elem_id="draw-seen")
        meant = gr.Markdown(empty.meant, elem_id="draw-meant")
        curve = gr.HTML(empty.curve, elem_id="draw-curve")
        why = gr.HTML(empty.why, elem_id="draw-why")
        inside = gr.HTML(empty.inside, elem_id="draw-inside")
        numbers = gr.HTML(empty.numbers, container=True, elem_id="draw-numbers")
        outputs = [answer, bars, seen, numbers, meant, curve, why, inside]
        answers, nothing = floor_answers(outputs, panels)
        replayed = itertools.cycle(answers)

        async def replay(canvas: str, session) -> list:
            return next(replayed) if canvas else nothing

        pad.change(replay, [pad, session], outputs, api_name="replay", **STROKE_WIRING)
    demo.queue()
    demo.launch(server_port=port, quiet=True, run_history=kept_run_history(run_history))


SERVERS = {"app": serve_app, "floor": serve_floor, "bare": serve_bare}


def start_server(
    kind: str, log_dir: Path, run_history: str = "as-served", panels: bool = False
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False"}
    env.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="browser-latency-"))
    log = open(log_dir / f"{kind}.log", "w")  # noqa: SIM115 (the child writes to it until the end)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port)]
        + ["--run-history", run_history]
        + (["--panels"] if panels else []),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=PROJECT_ROOT,
    )
    return server, f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------------------------
# In the page: the clock, the request hooks and the MutationObserver
# ---------------------------------------------------------------------------------------

# Installed before Gradio's own scripts run (an init script): pointer-up, the requests, and
# the answers read from a copy (tee) of the event stream Gradio's client reads.
HOOKS_JS = """
(() => {
  const log = window.__latency = {up: null, joins: [], answers: [], changes: [], painted: null};
  addEventListener('pointerup', (event) => { log.up = event.timeStamp; }, true);
  const realFetch = window.fetch;
  window.fetch = async function (input, init) {
    const url = typeof input === 'string' ? input : (input && input.url) || String(input);
    const sent = performance.now();
    const response = await realFetch.apply(this, arguments);
    if (url.includes('/queue/join')) log.joins.push({sent, joined: performance.now()});
    if (url.includes('/queue/data') && response.body) {
      const [mine, theirs] = response.body.tee();
      Object.defineProperty(response, 'body', {value: theirs});
      (async () => {
        const reader = mine.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const {value, done} = await reader.read();
          if (done) return;
          const now = performance.now();
          const text = decoder.decode(value, {stream: true});
          const completed = text.split('process_completed').length - 1;
          for (let i = 0; i < completed; i++) log.answers.push(now);
        }
      })();
    }
    return response;
  };
})();
"""

# Gradio's status tracker in each output (pending and progress markers: they change before
# the request is even sent, and again after the answer, also with show_progress="hidden").
TRACKER = ".wrap.hide, .wrap.hidden, .progress-text, .meta-text, .meta-text-center, .eta-bar"

# Called once the page is ready: watches the outputs' real content (class and style changes
# are not content: they are the markers, and the table's column widths settling after its
# numbers are shown).
OBSERVE_JS = """
([outputs, picture, tracker]) => {
  const log = window.__latency;
  log.picture = picture;
  const watched = outputs.join(',');
  const ignored = new Set(['class', 'style']);
  const real = (record) => {
    const element = record.target.nodeType === 1 ? record.target : record.target.parentElement;
    return !(record.type === 'attributes' && ignored.has(record.attributeName)) &&
      element?.closest(watched) && !element.closest(tracker);
  };
  new MutationObserver((records) => {
    if (!records.some(real) || log.answers.length === 0) return;
    const now = performance.now();
    log.changes.push(now);
    requestAnimationFrame(() => setTimeout(() => {
      if (log.changes[log.changes.length - 1] === now) log.painted = performance.now();
    }, 0));
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}
"""

# Before a stroke: forget the last one, note what the picture shows.
RESET_JS = """
() => {
  const log = window.__latency;
  Object.assign(log, {up: null, joins: [], answers: [], changes: [], painted: null});
  log.before = document.querySelector(log.picture)?.getAttribute('src') || '';
}
"""

# The stroke is over: answered, the picture changed, painted, and quiet since.
DONE_JS = """
quietMs => {
  const log = window.__latency;
  if (log.up === null || log.answers.length === 0 || log.painted === null) return false;
  const now = (document.querySelector(log.picture)?.getAttribute('src') || '');
  const last = log.changes[log.changes.length - 1];
  return now !== log.before && log.painted >= last && performance.now() - last > quietMs;
}
"""

READ_JS = "() => JSON.parse(JSON.stringify(window.__latency))"

# Gradio 6's run history: every event's inputs, outputs and components, kept in the
# browser's localStorage (up to 100 runs) and read and written back whole by the page's
# client as the event starts and as its messages come in.
RUN_HISTORY_JS = """
() => {
  let runs = 0, characters = 0;
  for (const key of Object.keys(localStorage)) {
    if (!key.startsWith('gradio:run-history:')) continue;
    const value = localStorage.getItem(key) || '';
    characters += value.length;
    try { const saved = JSON.parse(value); if (Array.isArray(saved)) runs += saved.length; } catch {}
  }
  return [runs, characters];
}
"""


def run_history(target) -> str:
    """What Gradio's run history holds in the page's localStorage."""
    runs, characters = target.page.evaluate(RUN_HISTORY_JS)
    return f"{runs} runs, {characters / 1000:,.0f} KB"


def stroke_steps(log: dict) -> dict[str, float] | None:
    """A stroke's timings (ms) from the page's log: the total and each step; None if the
    log misses a point (no request seen, no answer read)."""
    if log.get("up") is None or not log.get("joins") or not log.get("answers"):
        return None
    if not log.get("changes") or log.get("painted") is None:
        return None
    up = log["up"]
    sent_after_up = [join["sent"] for join in log["joins"] if join["sent"] >= up]
    if not sent_after_up:
        return None
    sent = min(sent_after_up)
    answer, dom, painted = log["answers"][-1], log["changes"][-1], log["painted"]
    return {
        "total": painted - up,
        "up->sent": sent - up,
        "sent->answer": answer - sent,
        "answer->DOM": dom - answer,
        "DOM->painted": painted - dom,
    }


# ---------------------------------------------------------------------------------------
# Driving a page
# ---------------------------------------------------------------------------------------


@dataclass
class Page:
    """One app open in the browser, and what was measured on it."""

    name: str
    page: object
    outputs: list[str]
    picture: str
    clear: str
    strokes: list[dict] = field(default_factory=list)  # {"digit": n, "phase": ..., steps}
    failures: list[str] = field(default_factory=list)
    cdp: object = None


def drawing_of(number: int) -> tuple[int, tuple]:
    """The digit and its box for the number-th digit drawn (0-based): 20 kinds in turn."""
    kind = number % (len(DRAWN_DIGITS) * len(BOXES))
    return DRAWN_DIGITS[kind % len(DRAWN_DIGITS)], BOXES[kind // len(DRAWN_DIGITS)]


def wait_done(target: Page) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        target.page.wait_for_function(DONE_JS, arg=QUIET_MS, timeout=STROKE_TIMEOUT_MS, polling=50)
        return True
    except PlaywrightTimeout:
        return False


def draw_one_digit(target: Page, number: int, phase: str, counted: bool = True) -> None:
    """The number-th digit: each stroke drawn and timed, then Clear (waited for)."""
    from browser_helpers import PAD, digit_strokes, mouse_stroke, to_page

    digit, box = drawing_of(number)
    target.page.bring_to_front()
    target.page.locator(f"{PAD} canvas").scroll_into_view_if_needed()  # panels open: scrolled
    for stroke in to_page(target.page, digit_strokes(digit, box)):
        target.page.evaluate(RESET_JS)
        mouse_stroke(target.page, stroke)
        done = wait_done(target)
        steps = stroke_steps(target.page.evaluate(READ_JS)) if done else None
        if steps is None:
            target.failures.append(f"digit {number + 1} ({digit}): no full answer seen")
        elif counted:
            target.strokes.append({"digit": number + 1, "phase": phase, **steps})
    target.page.evaluate(RESET_JS)
    target.page.locator(target.clear).click()
    if not wait_done(target):
        target.failures.append(f"digit {number + 1}: Clear not answered")


def open_page(browser, name: str, url: str, outputs: list[str], picture: str) -> Page:
    from browser_helpers import CLEAR, pad_ready

    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(HOOKS_JS)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    if name == "app":
        pad_ready(page)
    else:
        page.locator(f"{CLEAR}").wait_for(state="visible")
    page.evaluate(OBSERVE_JS, [outputs, picture, TRACKER])
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")  # Chrome's counters from the page's start
    return Page(name, page, outputs, picture, CLEAR, cdp=cdp)


def open_panels(target: Page, meant: int = MEANT) -> None:
    """The Draw tab's "Why this answer?" and "Inside the network" open, a meant digit chosen;
    waits until their first answers are in."""
    page = target.page
    for title in ("Why this answer?", "Inside the network"):
        page.get_by_role("button", name=title).first.click()
        page.wait_for_timeout(1500)
    page.locator("#draw-meant-choice label").filter(has_text=str(meant)).first.click()
    page.wait_for_timeout(1500)


# ---------------------------------------------------------------------------------------
# Profiling: Performance.getMetrics and a trace
# ---------------------------------------------------------------------------------------

METRICS = (
    "Nodes",
    "JSEventListeners",
    "JSHeapUsedSize",
    "LayoutCount",
    "RecalcStyleCount",
    "LayoutDuration",
    "RecalcStyleDuration",
    "ScriptDuration",
    "TaskDuration",
    "Documents",
    "Frames",
    "LayoutObjects",
    "MediaKeySessions",
    "Resources",
)


def page_metrics(target: Page) -> dict[str, float]:
    """Chrome's own counters for the page, after a forced garbage collection."""
    target.cdp.send("HeapProfiler.collectGarbage")
    metrics = target.cdp.send("Performance.getMetrics")["metrics"]
    return {metric["name"]: metric["value"] for metric in metrics}


def metric_growth(before: dict, after: dict, names=METRICS) -> list[str]:
    """Lines 'name: before -> after (+delta)' for the metrics both have."""
    lines = []
    for name in names:
        if name in before and name in after:
            a, b = before[name], after[name]
            if name.endswith("Size"):
                lines.append(f"{name}: {a / 1e6:.1f} -> {b / 1e6:.1f} MB ({(b - a) / 1e6:+.1f})")
            elif name.endswith("Duration"):
                lines.append(f"{name}: {a:.2f} -> {b:.2f} s ({b - a:+.2f})")
            else:
                lines.append(f"{name}: {a:,.0f} -> {b:,.0f} ({b - a:+,.0f})")
    return lines


def self_times(events: list[dict]) -> dict[str, float]:
    """Self time (ms) per event name, per thread, from Chrome trace events: each complete
    ("X") event's duration minus that of the events nested in it on the same thread."""
    totals: dict[str, float] = {}
    by_thread: dict[tuple, list[dict]] = {}
    for event in events:
        if event.get("ph") == "X" and "dur" in event:
            by_thread.setdefault((event.get("pid"), event.get("tid")), []).append(event)
    for thread_events in by_thread.values():
        thread_events.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack: list[list] = []  # [end, name, children's time]
        for event in thread_events:
            while stack and stack[-1][0] <= event["ts"]:
                _close(stack, totals)
            if stack:
                stack[-1][2] += event["dur"]
            stack.append([event["ts"] + event["dur"], event["name"], 0.0, event["dur"]])
        while stack:
            _close(stack, totals)
    return totals


def _close(stack: list, totals: dict) -> None:
    end, name, children, duration = stack.pop()
    totals[name] = totals.get(name, 0.0) + (duration - children) / 1000


def renderer_events(trace: dict) -> list[dict]:
    """The trace's events on the busiest renderer main thread (the traced page's)."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e.get("args", {}).get("name") == "CrRendererMain"
    }
    busy: dict[tuple, float] = {}
    for e in events:
        if (e.get("pid"), e.get("tid")) in mains and e.get("ph") == "X":
            busy[(e["pid"], e["tid"])] = busy.get((e["pid"], e["tid"]), 0) + e.get("dur", 0)
    if not busy:
        return []
    main = max(busy, key=busy.get)
    return [e for e in events if (e.get("pid"), e.get("tid")) == main]


def traced_digit(browser, target: Page, number: int, path: Path) -> dict[str, float]:
    """One extra digit (not counted) under Chrome's tracing; its main thread's self times."""
    categories = [
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "v8.execute",
        "blink.user_timing",
    ]
    browser.start_tracing(page=target.page, path=str(path), categories=categories)
    draw_one_digit(target, number, "traced", counted=False)
    trace = json.loads(browser.stop_tracing())
    return self_times(renderer_events(trace))


def top_self_times(first: dict, last: dict, count: int = 12) -> list[str]:
    names = sorted(set(first) | set(last), key=lambda n: -max(first.get(n, 0), last.get(n, 0)))
    return [
        f"{name:32s} {first.get(name, 0):8.1f} {last.get(name, 0):8.1f} ms"
        for name in names[:count]
    ]


# ---------------------------------------------------------------------------------------
# The load: 30 students drawing through the HTTP API (classroom_load.py's loop)
# ---------------------------------------------------------------------------------------


class ClassLoad:
    """`students` drawing on the app through /gradio_api/call/predict in a thread of their
    own (one asyncio loop), from start() to stop()."""

    def __init__(self, url: str, students: int, every: float = 0.5):
        self.url, self.students, self.every = url, students, every
        self.tally = Tally()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=self.students * 2 + 10)
        async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
            start = time.monotonic() + 0.2
            end = start + 24 * 3600  # until stop()
            tasks = [
                asyncio.create_task(
                    drawing_student(
                        client,
                        self.url,
                        s,
                        self.students,
                        "predict",
                        start,
                        start + 2.0,  # the first 2 s are not counted
                        end,
                        self.tally,
                        self.every,
                    )
                )
                for s in range(self.students)
            ]
            while not self.stopping.is_set():
                await asyncio.sleep(0.2)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> None:
        self.thread.start()
        time.sleep(3.0)  # the students are drawing before the browser starts

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


# ---------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------


def totals(strokes: list[dict], phase: str, digits: range | None = None) -> list[float]:
    return [
        s["total"]
        for s in strokes
        if s["phase"] == phase and (digits is None or s["digit"] in digits)
    ]


def summary_line(name: str, strokes: list[dict], phase: str) -> str:
    chosen = [s for s in strokes if s["phase"] == phase]
    if not chosen:
        return f"  {name:5s} no strokes measured"
    values = [s["total"] for s in chosen]
    steps = "  ".join(f"{percentile([s[k] for s in chosen], 50):7.1f}" for k in STEPS)
    return (
        f"  {name:5s} {percentile(values, 50):7.1f} {percentile(values, 95):7.1f}  "
        f"{len(values):4d}   | {steps}"
    )


def block_medians(strokes: list[dict], phase: str, digits: int, block: int = BLOCK) -> list:
    """[(first digit, last digit, median ms or None)] for each block of `block` digits."""
    result = []
    for first, last in blocks_of(digits, block):
        values = totals(strokes, phase, range(first, last + 1))
        result.append((first, last, percentile(values, 50) if values else None))
    return result


def blocks_of(digits: int, block: int = BLOCK) -> list[tuple[int, int]]:
    """(first digit, last digit) of each block of `block` digits, the last maybe shorter."""
    return [(first, min(first + block - 1, digits)) for first in range(1, digits + 1, block)]


def block_steps(strokes: list[dict], phase: str, digits: int, block: int = BLOCK) -> str:
    """Each step's median for each block of `block` digits: where a change over time is."""
    cells = []
    for first, last in blocks_of(digits, block):
        chosen = [s for s in strokes if s["phase"] == phase and first <= s["digit"] <= last]
        if chosen:
            medians = " / ".join(f"{percentile([s[k] for s in chosen], 50):.1f}" for k in STEPS)
            cells.append(f"{first}-{last}: {medians}")
    return "  ".join(cells)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def report_phase(pages: list[Page], phase: str, title: str, digits: int, shares: list) -> None:
    app, bare = pages[0], pages[-1]
    print(f"\n{title}")
    print("         median     p95  strokes | medians: " + "  ".join(f"{k:>12s}" for k in STEPS))
    for target in pages:
        print(summary_line(target.name, target.strokes, phase))
    app_median = _median(totals(app.strokes, phase))
    bare_median = _median(totals(bare.strokes, phase))
    print(f"  app/bare (medians): {ratio(app_median, bare_median)}  (target: at most 1.3x)")
    for floor in pages[1:-1]:
        floor_median = _median(totals(floor.strokes, phase))
        print(
            f"  floor/bare: {ratio(floor_median, bare_median)}, app/floor: "
            f"{ratio(app_median, floor_median)} (the floor: Gradio showing the same answers, "
            "no work)"
        )
    if digits > BLOCK:
        print(f"  medians by block of {BLOCK} digits (ms), with the host over each block:")
        for target in pages:
            blocks = block_medians(target.strokes, phase, digits)
            cells = "  ".join(
                f"{a}-{b}: {'n/a' if m is None else f'{m:6.1f}'}" for a, b, m in blocks
            )
            print(
                f"    {target.name:5s} {cells}   last/first: {ratio(blocks[-1][2], blocks[0][2])}"
                + ("  (target: at most 1.2x)" if target.name == "app" else "")
            )
            print(
                f"          steps ({' / '.join(STEPS)}): {block_steps(target.strokes, phase, digits)}"
            )
        for (first, last, _), share in zip(
            block_medians(app.strokes, phase, digits), shares, strict=False
        ):
            print(f"    host over digits {first}-{last}: {share}")


def _median(values: list[float]) -> float | None:
    return percentile(values, 50) if values else None


def host_line() -> str:
    return f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------


def draw_in_turns(pages: list[Page], first: int, count: int, phase: str, after=None) -> list[str]:
    """Digits first..first+count-1 on every page in turn, then `after(page, number)` if
    given; returns how the host's CPU time went over each block of BLOCK digits."""
    shares, ticks = [], machine_ticks()
    for number in range(first, first + count):
        for target in pages:
            draw_one_digit(target, number, phase)
            if after is not None:
                after(target, number)
        done = number - first + 1
        if done % BLOCK == 0 or done == count:
            shares.append(machine_share(ticks, machine_ticks()))
            ticks = machine_ticks()
            print(f"  {phase}: {done}/{count} digits ({shares[-1]})", flush=True)
    return shares


def open_pages(browser, urls: dict, panels: bool) -> list[Page]:
    """The apps in fresh pages (new browser contexts: an empty run history), the panels
    opened if asked, and one warm-up digit drawn on each (not counted)."""
    outputs = APP_OUTPUTS + (PANEL_OUTPUTS if panels else [])
    pages = [open_page(browser, "app", urls["app"], outputs, APP_PICTURE)]
    if "floor" in urls:
        pages.append(open_page(browser, "floor", urls["floor"], outputs, APP_PICTURE))
    pages.append(open_page(browser, "bare", urls["bare"], BARE_OUTPUTS, BARE_PICTURE))
    if panels:
        open_panels(pages[0])
    for target in pages:
        draw_one_digit(target, 0, "warm-up", counted=False)
    return pages


def report_failures(pages: list[Page]) -> None:
    for target in pages:
        for failure in target.failures[:10]:
            print(f"  {target.name}: {failure}")
        if target.failures:
            print(f"  {target.name}: {len(target.failures)} strokes or Clears not measured")


def measure(browser, urls: dict, args, trace_dir: Path) -> None:
    pages = open_pages(browser, urls, args.panels)
    first_metrics, first_traces = {}, {}
    if args.profile:
        for target in pages:
            first_traces[target.name] = traced_digit(
                browser, target, 0, trace_dir / f"{target.name}-start.json"
            )

    first_history = {}

    def after_digit(target: Page, number: int) -> None:
        if number == 0:
            first_history[target.name] = run_history(target)
            if args.profile:
                first_metrics[target.name] = page_metrics(target)

    shares = draw_in_turns(pages, 0, args.digits, "idle", after_digit)
    print(
        f"\nGradio's run history in each page's localStorage (re-read and re-written whole on "
        f"each event's messages), after digit 1 -> after digit {args.digits}:"
    )
    for target in pages:
        print(f"  {target.name}: {first_history[target.name]} -> {run_history(target)}")
    report_phase(
        pages,
        "idle",
        f"pointer-up -> every output painted, ms ({args.digits} digits each, in turns, idle)",
        args.digits,
        shares,
    )
    if args.profile:
        report_profile(browser, pages, args.digits, first_metrics, first_traces, trace_dir)
    report_failures(pages)
    if args.load:
        for target in pages:
            target.page.context.close()
        measure_under_load(browser, urls, args, idle=pages[0].strokes)


def report_profile(browser, pages, digits, first_metrics, first_traces, trace_dir) -> None:
    print(f"\nChrome's counters after a forced GC, after digit 1 -> after digit {digits}:")
    for target in pages:
        print(f"  {target.name}:")
        for line in metric_growth(first_metrics[target.name], page_metrics(target)):
            print(f"    {line}")
    print(
        f"\nmain thread self time per event kind, one traced digit before digit 1 vs after "
        f"digit {digits} (ms):"
    )
    for target in pages:
        last = traced_digit(browser, target, 0, trace_dir / f"{target.name}-end.json")
        print(f"  {target.name}:{'start':>29s} {'end':>8s}")
        for line in top_self_times(first_traces[target.name], last):
            print(f"    {line}")
    print(f"  traces (open in Chrome DevTools' Performance panel): {trace_dir}/*.json")


def measure_under_load(browser, urls: dict, args, idle: list[dict]) -> None:
    """--load-digits more digits in fresh pages (their run history as young as the idle
    run's first digits) while the students draw; the app's p95 against its idle median."""
    load = ClassLoad(urls["app"], args.students)
    print(
        f"\n{args.students} students drawing through /gradio_api/call/predict (one stroke every "
        f"0.5 s each); the browser in fresh pages"
    )
    load.start()
    try:
        pages = open_pages(browser, urls, args.panels)
        shares = draw_in_turns(pages, 0, args.load_digits, "load")
    finally:
        load.stop()
    report_phase(
        pages,
        "load",
        f"pointer-up -> every output painted, ms ({args.load_digits} digits each, under load)",
        args.load_digits,
        shares,
    )
    loaded = totals(pages[0].strokes, "load")
    young = min(args.load_digits, args.digits)
    for digits, title in ((range(1, young + 1), f"digits 1-{young}"), (None, "all digits")):
        idle_median = _median(totals(idle, "idle", digits))
        if loaded and idle_median:
            p95 = percentile(loaded, 95)
            print(
                f"  app p95 under load / app idle median ({title}): {p95:.1f} / "
                f"{idle_median:.1f} ms = {p95 / idle_median:.2f}x (target: at most 2x)"
            )
    ms = [s * 1000 for s in load.tally.latencies]
    if ms:
        print(
            f"  the {args.students} students' own strokes (API): p50 {percentile(ms, 50):.1f} ms, "
            f"p95 {percentile(ms, 95):.1f} ms, {len(ms)} answered, {len(load.tally.errors)} errors, "
            f"{load.tally.rejected} rejected; host: {shares[-1] if shares else ''}"
        )
    report_failures(pages)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--digits", type=int, default=60, help="digits drawn on each app (default: 60)"
    )
    parser.add_argument(
        "--panels",
        action="store_true",
        help="open the Draw tab's why/inside panels and choose a meant digit",
    )
    parser.add_argument(
        "--load",
        action="store_true",
        help="then draw --load-digits more in fresh pages while students draw through the API",
    )
    parser.add_argument(
        "--load-digits", type=int, default=20, help="digits drawn under load (default: 20)"
    )
    parser.add_argument(
        "--students", type=int, default=30, help="students drawing with --load (default: 30)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="Chrome metrics and traces at the start and the end"
    )
    parser.add_argument("--headed", action="store_true", help="show the browser (needs a display)")
    parser.add_argument(
        "--run-history",
        choices=["as-served", "kept", "off"],
        default="as-served",
        help="Gradio's run history, the same in both apps: as-served (as app.py serves it: "
        "off since issue 16), kept (Gradio's default) or off (default: as-served)",
    )
    parser.add_argument(
        "--no-host-check",
        action="store_true",
        help="skip benchmarks/host_cpu.py's 6 s check of the CPUs before the start",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time a third app in turns: Gradio showing the Draw tab's answers, no work "
        "(with --load its server and page load the host too: the load target is for a run "
        "without it)",
    )
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=7860, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        panels = {"panels": args.panels} if args.serve == "floor" else {}
        SERVERS[args.serve](args.port, args.run_history, **panels)
        return
    run(args)


def run(args) -> None:
    from playwright.sync_api import sync_playwright

    from browser_helpers import CHROMIUM, CHROMIUM_ARGS

    print(f"host before the start: {host_line()}")
    if not args.no_host_check:
        import host_cpu  # benchmarks/host_cpu.py: are the 2 CPUs ours right now?

        print("benchmarks/host_cpu.py: ", end="", flush=True)
        host_cpu.main()
    log_dir = Path(tempfile.mkdtemp(prefix="browser-latency-"))
    kept = kept_run_history(args.run_history)
    servers, urls = {}, {}
    try:
        kinds = ("app", "floor", "bare") if args.floor else ("app", "bare")
        for kind in kinds:
            servers[kind], urls[kind] = start_server(kind, log_dir, args.run_history, args.panels)
        for kind in kinds:
            wait_until_up(urls[kind], servers[kind])
        print(
            "app: mnist_demo.ui.app.build_demo() served as app.py does; bare: the same pad -> "
            "async echo -> gr.HTML <img>"
            + ("; floor: the same pad -> the Draw tab's answers, replayed" if args.floor else "")
            + f"; Gradio's run history in all: {'kept' if kept else 'off'} ({args.run_history})"
            + ("; the Draw tab's why/inside panels open" if args.panels else "")
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=not args.headed, args=CHROMIUM_ARGS
            )
            try:
                measure(browser, urls, args, log_dir)
            finally:
                browser.close()
        print(f"\nhost at the end: {host_line()}")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
