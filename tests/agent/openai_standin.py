"""An OpenAI-compatible chat-completions server on a free loopback port, for the real client.

``POST /v1/chat/completions`` (streaming off) answers with what the test's ``reply`` function
returns for the request body: a tool call, a text reply, an HTTP error, or a stall longer than the
client's timeout. Every request is recorded (path, headers, body) so tests can assert what the
real ``langchain-openai`` client sent: the tool schemas, the tool results, the API key header.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the stand-in answers: ``message`` (an assistant message) with HTTP 200, or an error
    ``status``, after waiting ``stall`` seconds (a stall past the client's timeout is a timeout)."""

    message: dict[str, Any] | None = None
    status: int = 200
    stall: float = 0.0


def tool_call(name: str, args: dict[str, Any], call_id: str = "call_1") -> Reply:
    return Reply(
        message={
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            ],
        }
    )


def text(content: str) -> Reply:
    return Reply(message={"role": "assistant", "content": content})


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results the client sent back in this request (parsed JSON; errors as text)."""
    out = []
    for message in body.get("messages", []):
        if message.get("role") == "tool":
            content = message.get("content") or ""
            try:
                out.append(json.loads(content))
            except json.JSONDecodeError:
                out.append({"error": content})
    return out


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]


@dataclass
class StandIn:
    reply: Callable[[dict[str, Any]], Reply]
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""
    released: threading.Event = field(default_factory=threading.Event)


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            standin.requests.append(
                Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            if body.get("stream"):
                return self._send(400, {"error": {"message": "streaming is off here", "type": "bad_request"}})
            answer = standin.reply(body)
            if answer.stall:
                standin.released.wait(answer.stall)  # released at shutdown: no sleeping test
            if answer.status != 200:
                # Real servers echo what they were sent (OpenAI's 401 names the key it got): the
                # client must never pass this text on.
                echoed = f"stand-in failure for {self.headers.get('Authorization', '')}"
                return self._send(answer.status, {"error": {"message": echoed, "type": "server_error"}})
            self._send(
                200,
                {
                    "id": f"chatcmpl-{len(standin.requests)}",
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": body.get("model", "standin"),
                    "choices": [{"index": 0, "message": answer.message, "finish_reason": _finish(answer)}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                },
            )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                pass

    return Handler


def _finish(answer: Reply) -> str:
    return "tool_calls" if answer.message and answer.message.get("tool_calls") else "stop"


@contextmanager
def openai_standin(reply: Callable[[dict[str, Any]], Reply]) -> Iterator[StandIn]:
    """Serve ``reply`` on 127.0.0.1 at a free port; ``base_url`` ends in ``/v1``."""
    standin = StandIn(reply=reply)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    standin.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        standin.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
