"""Safe hosting: what a public Space exposes to anyone with its URL, and what it refuses.

The settings (mnist_demo/ui/app.py) are checked as values, then proven against the app
launched with them: files outside Gradio's cache cannot be read, monitoring is off, big
uploads are refused, and malformed API calls get an error while the server keeps serving.
"""

import base64
import inspect
import io
import os
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from PIL import Image

from mnist_demo.classroom.run_queue import RUN_QUEUE
from mnist_demo.constants import PROJECT_ROOT, SHIPPED_CHECKPOINT

from conftest import serving
from drawings import CENTERED, canvas_data_url, draw_layer

pytestmark = pytest.mark.slow

MB = 1024 * 1024
FILE_DATA = {"_type": "gradio.FileData"}  # the tag Gradio wants on a file in a payload
EVENT_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def hosted(tmp_path_factory, mnist_dir):
    """The whole app launched with its hosting options; yields (demo, url)."""
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    from mnist_demo.ui.app import build_demo, launch_options

    demo = build_demo()
    with serving(demo, **launch_options()) as url:
        yield demo, url


@pytest.fixture(scope="module")
def url(hosted) -> str:
    return hosted[1]


@pytest.fixture(scope="module")
def http(url):
    with httpx.Client(base_url=url, timeout=EVENT_TIMEOUT_S) as client:
        yield client


SEVEN = canvas_data_url(draw_layer(7, CENTERED, brush_radius=10))  # what the pad sends


def assert_still_serving(url: str) -> None:
    """A well-formed prediction through gradio_client still gets its answer."""
    client = Client(url, verbose=False)
    headline, *_ = client.predict(SEVEN, api_name="/predict")
    assert "**7**" in headline


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(http, name: str, content: bytes, mime: str = "image/png") -> httpx.Response:
    return http.post("/gradio_api/upload", files={"files": (name, content, mime)})


def call_predict(http, body) -> tuple[int, str, str]:
    """POST /gradio_api/call/predict, then read its event stream to the end.

    Returns (HTTP status of the POST, last event name or "", its data or the POST's body).
    """
    if isinstance(body, bytes | str):
        response = http.post(
            "/gradio_api/call/predict",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    else:
        response = http.post("/gradio_api/call/predict", json=body)
    if response.status_code != 200:
        return response.status_code, "", response.text
    event_id = response.json()["event_id"]
    event, data = "", ""
    with http.stream("GET", f"/gradio_api/call/predict/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data = line.removeprefix("data:").strip()
    return response.status_code, event, data


# ------------------------------------------------------------------------------------------
# The settings
# ------------------------------------------------------------------------------------------


def test_launch_options_are_safe_for_a_public_space():
    from mnist_demo.ui.app import launch_options

    options = launch_options()
    assert options["max_file_size"]  # Gradio's default is unlimited
    assert options["enable_monitoring"] is False  # /monitoring would be public
    assert options["ssr_mode"] is False
    assert not options.get("allowed_paths")  # every file in them would be public
    assert not options.get("share")
    assert not options.get("show_error")  # internal exception text stays on the server


def test_the_launched_app_uses_them(hosted):
    demo, _ = hosted
    from mnist_demo.ui.app import MAX_QUEUE_SIZE

    assert demo.max_file_size == 2 * MB
    assert demo.allowed_paths == []
    assert demo.ssr_mode is False
    assert demo.run_history is False  # the page keeps no copy of every stroke (issue 16)
    assert demo._queue.max_size is not None  # Gradio's default: unbounded
    assert demo._queue.max_size == MAX_QUEUE_SIZE
    assert 0 < MAX_QUEUE_SIZE <= 1000


def test_every_event_has_a_concurrency_limit(hosted):
    """None would mean unlimited threads on a 2-core machine. The one exception, Train, is
    a coroutine (it holds no thread while it waits) bounded by the class's run queue, whose
    door (classroom/admission.py) refuses presses past its bound before Gradio's queue."""
    demo, _ = hosted
    for fn in demo.fns.values():
        if fn.api_name == "train":
            assert inspect.isasyncgenfunction(fn.fn) and RUN_QUEUE.max_waiting <= 30
            continue
        assert fn.concurrency_limit is not None, f"{fn.name} runs without a limit"
    assert demo._queue.default_concurrency_limit is not None


def test_analytics_are_off_in_tests(hosted):
    demo, _ = hosted
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert demo.analytics_enabled is False


def test_decoded_image_size_is_bounded():
    """max_file_size bounds the bytes, not the pixels: a 2 MB PNG can hold 178 million
    pixels (PIL's default refusal limit), which Gradio decodes to three RGBA arrays of
    ~700 MB each before the handler runs. The app should lower PIL's limit so that
    anything much larger than a 4000x4000 API upload is refused before it is decoded."""
    import mnist_demo.ui.app  # noqa: F401  (the app sets the limit when imported)

    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None, "PIL's decompression-bomb check is switched off"
    hard_limit = 2 * limit  # PIL warns above the limit and refuses above twice it
    assert hard_limit <= 2 * 4000 * 4000, (
        f"a PNG under max_file_size may decode to {hard_limit:,} pixels "
        f"(~{hard_limit * 4 * 3 // MB:,} MB of RGBA arrays per request)"
    )


# ------------------------------------------------------------------------------------------
# Files: only Gradio's own cache is served
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        str(SHIPPED_CHECKPOINT),
        str(SHIPPED_CHECKPOINT.with_suffix(".json")),
        str(PROJECT_ROOT / "app.py"),
        "/etc/passwd",
        "../../../../../../etc/passwd",
        "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/proc/self/environ",
    ],
)
def test_files_outside_gradios_cache_cannot_be_read(http, path):
    response = http.get(f"/gradio_api/file={path}")
    assert response.status_code in (403, 404), response.status_code
    assert b"root:" not in response.content
    real = PROJECT_ROOT / "app.py" if path.endswith("app.py") else SHIPPED_CHECKPOINT
    assert real.read_bytes()[:64] not in response.content


def test_uploads_are_refused_and_nothing_is_stored(http):
    """The app has no upload component: Gradio's upload route is refused, before the body
    is read, whatever its size (Gradio's own limit is per file, up to 1,000 files)."""
    cache = Path(os.environ["GRADIO_TEMP_DIR"])
    before = {path for path in cache.rglob("*") if path.is_file()}
    for content in (png_bytes(Image.new("L", (28, 28), 255)), os.urandom(3 * MB)):
        response = upload(http, "white.png", content)
        assert response.status_code == 403, response.status_code
        assert "no file uploads" in response.text
    assert {path for path in cache.rglob("*") if path.is_file()} == before


def test_cache_files_do_not_pile_up(tmp_path, monkeypatch):
    """Files in Gradio's cache (here an upload, allowed for the test) are deleted on a
    schedule, so a class working all day does not fill the disk (a 1 s schedule here)."""
    from mnist_demo.classroom import limits
    from mnist_demo.ui import app as ui_app

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    monkeypatch.setattr(ui_app, "CACHE_CLEANUP", (1, 1))
    monkeypatch.setattr(limits, "ALLOW_UPLOADS", True)
    with (
        serving(ui_app.build_demo(), **ui_app.launch_options()) as url,
        httpx.Client(base_url=url, timeout=EVENT_TIMEOUT_S) as client,
    ):
        response = upload(client, "stroke.png", png_bytes(Image.new("L", (28, 28), 0)))
        stored = Path(response.json()[0])
        assert stored.is_file()
        served = client.get(f"/gradio_api/file={stored}")  # the route serves the cache...
        assert served.status_code == 200
        deadline = time.monotonic() + 10
        while stored.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not stored.exists(), "the uploaded file was never deleted"


def test_the_app_cleans_its_cache_every_few_minutes(hosted):
    demo, _ = hosted
    frequency, age = demo.delete_cache
    assert frequency <= 3600 and age <= 4 * 3600


@pytest.mark.parametrize("path", ["/monitoring", "/monitoring/summary"])
def test_monitoring_is_off(http, path):
    response = http.get(path)
    assert response.status_code in (403, 404)


# ------------------------------------------------------------------------------------------
# Drawings too large
# ------------------------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused(http, url):
    """A small PNG that would decode to more pixels than PIL allows: an error, quickly (from
    its header, before PIL would refuse it)."""
    side = int((2 * Image.MAX_IMAGE_PIXELS) ** 0.5) + 1  # just past PIL's hard limit
    bomb = png_bytes(Image.new("1", (side, side), 1))  # one bit per pixel, compresses well
    assert len(bomb) < 100_000

    started = time.monotonic()
    status, event, data = call_predict(http, {"data": [data_url(bomb)]})
    assert (status, event) == (200, "error")
    assert "too large to read" in data
    assert time.monotonic() - started < 10
    assert_still_serving(url)


def test_an_oversized_drawing_is_refused(http, url):
    """Megabytes in place of a few KB of drawing: refused before anything is decoded."""
    huge = data_url(os.urandom(3 * MB))
    status, event, data = call_predict(http, {"data": [huge]})
    assert status == 413 or (status, event) == (200, "error"), (status, event)
    if status == 200:
        assert "too large" in data
    assert_still_serving(url)


# ------------------------------------------------------------------------------------------
# Malformed API payloads
# ------------------------------------------------------------------------------------------


def _file(path: str) -> dict:
    return {"path": path, "meta": FILE_DATA}


MALFORMED = {
    "not JSON": b"{garbage",
    "data not a list": {"data": "not a list"},
    "no data": {"session_hash": "x"},
    "no inputs": {"data": []},
    "too many inputs": {"data": [1, 2, 3, 4]},
    "a string, not an image": {"data": ["a string instead of an image"]},
    "a number, not an image": {"data": [7]},
    "not a data URL": {"data": ["data:text/html;base64,PHNjcmlwdD4="]},
    "bad base64": {"data": ["data:image/png;base64,&&&not base64&&&"]},
    "a PNG data URL that is not a PNG": {"data": [data_url(b"this is not a PNG" * 100)]},
    "wrong types inside": {"data": [{"background": 5, "layers": "x", "composite": [1, 2]}]},
    "a file outside the cache": {
        "data": [{"background": _file("/etc/passwd"), "layers": [_file("/etc/passwd")]}]
    },
    "a path escaping the cache": {
        "data": [{"background": _file("/tmp/../etc/passwd"), "layers": [], "composite": None}]
    },
    "a URL to fetch (SSRF)": {
        "data": [
            {
                "background": {
                    "path": "http://169.254.169.254/latest/meta-data",
                    "url": "http://169.254.169.254/latest/meta-data",
                    "meta": FILE_DATA,
                },
                "layers": [],
                "composite": None,
            }
        ]
    },
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_payload_gets_an_error_and_the_server_keeps_serving(http, url, body):
    status, event, data = call_predict(http, body)
    if status == 200:
        assert event == "error", f"expected an error event, got {event!r}: {data[:200]}"
    else:
        assert 400 <= status < 500, status
    assert "root:" not in data  # no file content leaks into the error
    assert "Traceback" not in data  # nor the server's internals
    assert_still_serving(url)


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        {"layers": []},
        {"background": None, "layers": [None], "composite": None},
    ],
    ids=["cleared pad", "None", "only empty layers", "a None layer"],
)
def test_an_empty_drawing_asks_for_a_digit(http, url, value):
    """Nothing drawn: the 'draw a digit' answer, never a made-up one."""
    status, event, data = call_predict(http, {"data": [value]})
    assert (status, event) == (200, "complete")
    assert "Draw a digit" in data and "The network says" not in data
    assert_still_serving(url)


def test_cache_files_are_never_opened_by_predict(http, url):
    """A file in Gradio's cache named in a payload is refused, not read: the Draw tab takes
    only the pad's data URL (or pixels), never a path on the server."""
    seven = Path(os.environ["GRADIO_TEMP_DIR"]) / "0123abcd" / "seven.png"
    seven.parent.mkdir(parents=True, exist_ok=True)
    seven.write_bytes(png_bytes(Image.fromarray(draw_layer(7, CENTERED))))
    file = _file(str(seven))
    status, event, data = call_predict(
        http, {"data": [{"background": file, "layers": [file], "composite": file}]}
    )
    assert (status, event) == (200, "error")
    assert "The network says" not in data
    assert_still_serving(url)


def test_presses_of_train_past_the_bound_never_reach_gradios_queue(hosted, http, monkeypatch):
    """Issue 15: a script pressing Train with made-up sessions filled Gradio's queue and
    refused everyone's strokes. Past the class's bound, a press is refused at the door."""
    demo, _ = hosted
    monkeypatch.setattr(RUN_QUEUE, "max_waiting", 1)
    someone = RUN_QUEUE.join(object(), lambda: 30.0)  # the queue is full
    try:
        train_fn = next(i for i, fn in demo.fns.items() if fn.api_name == "train")
        by_api = http.post("/gradio_api/call/train", json={"data": [], "session_hash": "x1"})
        by_page = http.post(
            "/gradio_api/queue/join",
            json={"data": [], "fn_index": train_fn, "session_hash": "x2", "trigger_id": None},
        )
        assert by_api.status_code == by_page.status_code == 429
        assert "training queue is full" in by_api.json()["detail"]
        assert len(demo._queue) == 0  # neither press is waiting in Gradio's queue
        stroke = Client(hosted[1], verbose=False).predict(SEVEN, api_name="/predict")
        assert "The network says" in stroke[0]  # drawing works as before
    finally:
        RUN_QUEUE.leave(someone)


# ------------------------------------------------------------------------------------------
# Size limits before work (mnist_demo/classroom/limits.py)
# ------------------------------------------------------------------------------------------


def test_a_drawing_with_too_many_pixels_is_refused_from_its_header(http, url):
    """A 5656x5656 PNG is a 166 KB data URL that costs 1-2 s and hundreds of MB to decode:
    refused from its header, with a message for the student."""
    from test_limits import header_only_png

    status, event, data = call_predict(http, {"data": [data_url(header_only_png(5656, 5656))]})
    assert (status, event) == (200, "error")
    assert "5,656 x 5,656 pixels" in data and "too large" in data
    assert_still_serving(url)


@pytest.mark.parametrize("chunked", [False, True], ids=["with a length", "in chunks"])
def test_a_big_request_body_is_refused(http, url, chunked):
    from mnist_demo.classroom.limits import MAX_BODY_BYTES

    body = b'{"data": ["' + b"x" * (MAX_BODY_BYTES + MB) + b'"]}'

    def chunks():
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    try:
        response = http.post(
            "/gradio_api/call/predict",
            content=chunks() if chunked else body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413, response.status_code
        assert "too large" in response.text
    except httpx.WriteError:  # refused and closed before the client had sent it all
        assert chunked
    assert_still_serving(url)


def test_an_error_quotes_only_a_short_part_of_a_bad_value(http):
    """Gradio's choice check repeats the value it refuses: a 1 MB optimizer name would come
    back whole, and go whole into the server's log."""
    response = http.post("/gradio_api/call/train", json={"data": ["x" * MB] + [None] * 8})
    event_id = response.json()["event_id"]
    with http.stream("GET", f"/gradio_api/call/train/{event_id}") as stream:
        text = "".join(stream.iter_lines())
    assert "error" in text
    assert len(text) < 2000, f"the error is {len(text):,} characters long"
