"""Size limits checked before any work: a drawing's pixels, a request's bytes, an error's length.

Anyone can call the app's API, so a drawing may be far larger than the pad's 280x280, a
request body may be 100 MB, and a bad value may be echoed back whole in an error message.
Each is cheap to refuse up front and expensive to process:

    check_drawing(canvas)     # raises DrawingTooLarge in microseconds, from the PNG header
    BodyLimit(app)            # an ASGI middleware: big bodies refused before they are read
    shorten_error(error)      # an exception's message cut to a short quote of the value
"""

import base64
import binascii
import struct

from mnist_demo.preprocess import PNG_DATA_URL_PREFIX

# The pad sends 280x280; API callers may send more, up to this many pixels a side (a 3x
# phone screen's 840 fits). A PNG is decoded whole, in the stroke process every student
# shares: a 5656x5656 one (a 166 KB data URL) costs 1-2 s and hundreds of MB; with 8
# 2048x2048 ones in flight a student's strokes took 2.7 s (p95), so 2048 is too many
# (docs/reliability.md).
MAX_DRAWING_SIDE = 1024
# A 280x280 drawing is a few KB of PNG; even 280x280 pixels of noise stay under this.
MAX_DRAWING_CHARS = 500_000
# The largest request the app needs is one drawing (above): anything over this is refused
# before it is read. Its size comes from its Content-Length, or by counting what arrives.
MAX_BODY_BYTES = 3 * 1024 * 1024
# The app has no upload component: Gradio's upload route is refused (HTTP 403).
UPLOAD_PATH_SUFFIX = "/upload"
ALLOW_UPLOADS = False
# An error message longer than this keeps its start and end, with the middle cut.
MAX_MESSAGE_CHARS = 300

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IHDR = struct.Struct("!I4sII")  # the first chunk: its length, b"IHDR", width, height


class DrawingTooLarge(ValueError):
    """A drawing refused from its size alone, before it is decoded."""


def check_drawing(canvas) -> None:
    """Refuse a drawing that is too long or, from its PNG header, too many pixels.

    Looks only at the length and at the first 32 base64 characters (the header), so it
    costs microseconds whatever is sent. Anything else (an empty pad, other kinds of
    values, a broken PNG) is left to `mnist_demo.preprocess`, which explains it.
    """
    if not isinstance(canvas, str):
        return
    if len(canvas) > MAX_DRAWING_CHARS:
        raise DrawingTooLarge(
            f"This drawing is too large to read: {len(canvas):,} characters (the pad sends "
            f"a few thousand; at most {MAX_DRAWING_CHARS:,})."
        )
    size = png_size(canvas)
    if size is not None and max(size) > MAX_DRAWING_SIDE:
        width, height = size
        raise DrawingTooLarge(
            f"This drawing is {width:,} x {height:,} pixels: too large to read (the pad's "
            f"are 280 x 280; at most {MAX_DRAWING_SIDE:,} x {MAX_DRAWING_SIDE:,})."
        )


def png_size(data_url: str) -> tuple[int, int] | None:
    """(width, height) from a PNG data URL's header, without decoding the picture; None
    when it is not a PNG data URL with a readable header."""
    if not data_url.startswith(PNG_DATA_URL_PREFIX):
        return None
    start = len(PNG_DATA_URL_PREFIX)
    header_chars = 4 * -(-(len(PNG_SIGNATURE) + IHDR.size) // 3)  # 24 bytes -> 32 chars
    try:
        header = base64.b64decode(data_url[start : start + header_chars], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(header) < len(PNG_SIGNATURE) + IHDR.size or not header.startswith(PNG_SIGNATURE):
        return None
    _, kind, width, height = IHDR.unpack_from(header, len(PNG_SIGNATURE))
    return (width, height) if kind == b"IHDR" else None


def shortened(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` if short; else its start and end around a note of how much was cut."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]} [... {len(text) - 2 * keep:,} characters cut ...] {text[-keep:]}"


def shorten_error(error: BaseException) -> None:
    """Cut every long message in `error` and its causes (in place): an error quoting a
    20 MB value sends 20 MB back and writes 20 MB into the server's log otherwise."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        message = getattr(error, "message", None)  # gr.Error keeps its text here too
        if isinstance(message, str) and len(message) > MAX_MESSAGE_CHARS:
            error.message = shortened(message)
        if any(isinstance(arg, str) and len(arg) > MAX_MESSAGE_CHARS for arg in error.args):
            error.args = tuple(shortened(a) if isinstance(a, str) else a for a in error.args)
        error = error.__cause__ or error.__context__


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` gets HTTP 413 before it is read
    (from its Content-Length), or as soon as the bytes counted pass the limit (a body sent
    in chunks, without a length). Gradio's upload route gets 403 unless `allow_uploads`."""

    def __init__(self, app, max_bytes: int | None = None, allow_uploads: bool | None = None):
        self.app = app
        self.max_bytes = MAX_BODY_BYTES if max_bytes is None else max_bytes
        self.allow_uploads = ALLOW_UPLOADS if allow_uploads is None else allow_uploads

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.allow_uploads and scope["path"].rstrip("/").endswith(UPLOAD_PATH_SUFFIX):
            return await respond(send, 403, "This app takes no file uploads.")
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await respond(send, 413, self.too_large())
        await CountedBody(self, receive, send).run(scope)

    def too_large(self) -> str:
        return f"Request body too large: at most {self.max_bytes:,} bytes."


class CountedBody:
    """One request whose body is counted as it arrives; past the limit, the app's answer is
    replaced by a 413 (whatever the app made of the cut-off body)."""

    def __init__(self, limit: BodyLimit, receive, send):
        self.limit, self._receive, self._send = limit, receive, send
        self.received = 0
        self.exceeded = False
        self.started = False  # the response has begun (ours or the app's)

    async def receive(self):
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                self.exceeded = True
                raise BodyTooLarge(self.limit.too_large())
        return message

    async def send(self, message):
        if self.exceeded:  # the app answered a body it could not finish: ours instead
            if not self.started:
                self.started = True
                await respond(self._send, 413, self.limit.too_large())
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)

    async def run(self, scope) -> None:
        try:
            await self.limit.app(scope, self.receive, self.send)
        except BodyTooLarge:
            pass
        except Exception:
            if not self.exceeded:
                raise
        if self.exceeded and not self.started:
            self.started = True
            await respond(self._send, 413, self.limit.too_large())


class BodyTooLarge(Exception):
    """Raised into the app when a body passes the limit while it is read."""


async def respond(send, status: int, text: str) -> None:
    """A plain-text HTTP response, sent straight through ASGI."""
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
