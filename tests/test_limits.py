"""Size limits checked before any work (mnist_demo/classroom/limits.py): the drawing's PNG
header, the request body's bytes, an error message's length."""

import asyncio
import base64
import io
import struct
import zlib

import httpx
import pytest
from PIL import Image

from mnist_demo.classroom.limits import (
    MAX_DRAWING_CHARS,
    MAX_DRAWING_SIDE,
    MAX_MESSAGE_CHARS,
    BodyLimit,
    DrawingTooLarge,
    check_drawing,
    png_size,
    shorten_error,
    shortened,
)

from helpers import SEVEN


def png_data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def real_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height), 0).save(buffer, format="PNG")
    return buffer.getvalue()


def header_only_png(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk claiming width x height, then IEND: no pixels at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack("!IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_the_header_gives_the_size_without_decoding():
    assert png_size(png_data_url(real_png(280, 280))) == (280, 280)
    assert png_size(png_data_url(real_png(3000, 7))) == (3000, 7)
    assert png_size(png_data_url(header_only_png(50_000, 50_000))) == (50_000, 50_000)
    assert png_size(SEVEN) == (280, 280)  # what the pad sends


@pytest.mark.parametrize(
    "canvas",
    ["", "data:image/png;base64,", "data:image/png;base64,&&&", "data:image/jpeg;base64,AAAA"],
)
def test_what_is_not_a_png_header_is_left_to_preprocess(canvas):
    assert png_size(canvas) is None
    check_drawing(canvas)  # not refused here: preprocess explains what is wrong


@pytest.mark.parametrize(
    "size", [(MAX_DRAWING_SIDE + 1, 1), (1, MAX_DRAWING_SIDE + 1), (5656, 5656)]
)
def test_a_drawing_with_too_many_pixels_is_refused_with_its_size(size):
    with pytest.raises(DrawingTooLarge, match=f"{size[0]:,} x {size[1]:,} pixels"):
        check_drawing(png_data_url(header_only_png(*size)))


def test_drawings_up_to_the_limit_pass():
    check_drawing(SEVEN)
    check_drawing(png_data_url(real_png(MAX_DRAWING_SIDE, MAX_DRAWING_SIDE)))
    check_drawing(None)  # other kinds of values are preprocess's business
    check_drawing({"layers": []})


def test_a_drawing_too_long_is_refused_before_its_header_is_read():
    canvas = "data:image/png;base64," + "A" * MAX_DRAWING_CHARS
    with pytest.raises(DrawingTooLarge, match="too large to read"):
        check_drawing(canvas)


def test_long_messages_keep_their_start_and_end():
    assert shortened("short") == "short"
    text = "Value: '" + "x" * 1_000_000 + "' is not in the list of choices: ['adam', 'sgd']"
    short = shortened(text)
    assert len(short) < MAX_MESSAGE_CHARS + 60
    assert short.startswith("Value: 'xxx") and short.endswith("choices: ['adam', 'sgd']")
    assert "characters cut" in short


def test_an_error_and_its_causes_are_shortened_in_place():
    class WithMessage(Exception):
        def __init__(self, message):
            super().__init__(message)
            self.message = message

    try:
        try:
            float("9" * 100_000 + "x")
        except ValueError as cause:
            raise WithMessage("bad value " + "y" * 100_000) from cause
    except WithMessage as error:
        shorten_error(error)
        assert len(error.message) < MAX_MESSAGE_CHARS + 60
        assert len(str(error)) < MAX_MESSAGE_CHARS + 60
        assert len(str(error.__cause__)) < MAX_MESSAGE_CHARS + 60


# ------------------------------------------------------------------------------------------
# BodyLimit, around a small ASGI app that reads the whole body
# ------------------------------------------------------------------------------------------


async def echo_length(scope, receive, send):
    """Reads the body to its end and answers its length (what any route does first)."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def post(app, path: str, content) -> httpx.Response:
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=content)

    return asyncio.run(go())


def test_a_body_under_the_limit_is_read():
    response = post(BodyLimit(echo_length, max_bytes=1000), "/gradio_api/queue/join", b"x" * 1000)
    assert (response.status_code, response.text) == (200, "1000")


def test_a_body_over_the_limit_is_refused_from_its_length():
    response = post(BodyLimit(echo_length, max_bytes=1000), "/gradio_api/queue/join", b"x" * 1001)
    assert response.status_code == 413
    assert "at most 1,000 bytes" in response.text


def test_a_body_in_chunks_is_counted_and_refused_past_the_limit():
    async def chunks():  # no Content-Length: sent in chunks
        for _ in range(100):
            yield b"x" * 100

    response = post(BodyLimit(echo_length, max_bytes=1000), "/gradio_api/queue/join", chunks())
    assert response.status_code == 413


def test_uploads_are_refused_unless_allowed():
    refused = post(BodyLimit(echo_length), "/gradio_api/upload", b"file")
    assert refused.status_code == 403 and "no file uploads" in refused.text
    allowed = post(BodyLimit(echo_length, allow_uploads=True), "/gradio_api/upload", b"file")
    assert (allowed.status_code, allowed.text) == (200, "4")
