"""Presses of Train past the class's bound are refused at the door, before Gradio's queue.

Gradio has one queue size limit for every event together and a fixed number of events in
progress (its `max_threads`): a script pressing Train a few hundred times a second would
fill both and refuse the class's strokes. This ASGI middleware answers such a press with
HTTP 429 and a plain message while the class's training queue (run_queue.py) is full, so it
never reaches Gradio; the presses it lets in are at most what the queue can hold.

    Middleware(TrainAdmission, run_queue=RUN_QUEUE, api_names={"train"})
"""

import json

JOIN_PATH = "/queue/join"  # the browser's way in: the event is named by its fn_index
CALL_PATH = "/call/"  # the HTTP API's way in: /gradio_api/call/<api_name>
MAX_PRESS_BYTES = 1 << 20  # a press of Train is a few hundred bytes; a drawing, some KB


class TrainAdmission:
    """ASGI middleware: a press of Train gets 429 while the run queue admits no more."""

    def __init__(self, app, run_queue, api_names: set[str], fn_indices: set[int] | None = None):
        self.app, self.run_queue = app, run_queue
        self.api_names = set(api_names)
        self.fn_indices = fn_indices  # the browser names events by number: found on first use

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        entering = JOIN_PATH in path or CALL_PATH in path
        if scope["type"] != "http" or scope.get("method") != "POST" or not entering:
            return await self.app(scope, receive, send)
        if self.fn_indices is None:
            self.fn_indices = _fn_indices(scope.get("app"), self.api_names)
        body, more = await _read(receive, MAX_PRESS_BYTES)
        if self.is_press(path, body) and not self.run_queue.admit():
            return await _refuse(send, self.run_queue.full_message())
        return await self.app(scope, _replay(body, more, receive), send)

    def is_press(self, path: str, body: bytes) -> bool:
        """Whether this request starts the Train event."""
        if CALL_PATH in path:
            return path.rstrip("/").rsplit("/", 1)[-1] in self.api_names
        try:
            return json.loads(body).get("fn_index") in self.fn_indices
        except (ValueError, AttributeError):
            return False  # not JSON we know: Gradio answers it as it would


def _fn_indices(app, api_names: set[str]) -> set[int]:
    """The numbers of the events named `api_names` in the Gradio app serving the request."""
    fns = app.get_blocks().fns  # {fn_index: BlockFunction}
    return {index for index, fn in fns.items() if fn.api_name in api_names}


async def _read(receive, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body, and whether more is to come."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if not more or size >= limit:
            return b"".join(chunks), more


def _replay(body: bytes, more: bool, receive):
    """A `receive` that gives the app the part already read, then the rest."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def _refuse(send, message: str) -> None:
    payload = json.dumps({"detail": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
