"""An OpenAI-compatible upstream on 127.0.0.1 that keeps every body it receives.

The last user message chooses the answer, so a test controls the token counts exactly:

- ``usage:N``: a JSON reply whose ``usage.total_tokens`` is ``N``;
- ``text:N``: ``N`` characters of completion text and no ``usage`` (as a stream when asked);
- ``slow:N``: a stream of ``N`` chunks sent 10 ms apart, as a model generates (a bounded 10 s
  for 1,000), ending early when the gateway hangs up;
- anything else: a short JSON reply with a usage block.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CountingUpstream:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.hung_up = threading.Event()
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the test output is the report
                return

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with upstream._lock:
                    upstream.received.append(body)
                prompt = (body.get("messages") or [{}])[-1].get("content", "")
                if prompt.startswith("slow:"):
                    self._trickle(int(prompt.removeprefix("slow:")))
                    return
                payload, media = upstream.answer(body)
                self.send_response(200)
                self.send_header("content-type", media)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _trickle(self, chunks: int) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                event = {"id": "c", "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": {"content": "z" * 50}, "finish_reason": None}]}
                line = f"data: {json.dumps(event)}\n\n".encode()
                try:
                    for _ in range(chunks):
                        self.wfile.write(line)
                        self.wfile.flush()
                        time.sleep(0.01)  # the pace of generation, not a wait on the test's behalf
                    self.wfile.write(b"data: [DONE]\n\n")
                except OSError:
                    upstream.hung_up.set()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def prompts(self) -> list[str]:
        with self._lock:
            return [b["messages"][-1]["content"] for b in self.received if b.get("messages")]

    @staticmethod
    def answer(body: dict[str, Any]) -> tuple[bytes, str]:
        prompt = body["messages"][-1]["content"]
        kind, _, number = prompt.partition(":")
        model = body.get("model", "x")
        if kind == "text" and number.isdigit():
            text = "y" * int(number)
            if body.get("stream"):
                pieces = [text[i:i + 50] for i in range(0, len(text), 50)]
                events = [{"id": "c", "object": "chat.completion.chunk", "model": model,
                           "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
                sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
                return sse.encode(), "text/event-stream"
            return json.dumps(_reply(model, text, None)).encode(), "application/json"
        if kind == "usage" and number.isdigit():
            total = int(number)
            usage = {"prompt_tokens": total - 1, "completion_tokens": 1, "total_tokens": total}
            return json.dumps(_reply(model, "ok", usage)).encode(), "application/json"
        usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        return json.dumps(_reply(model, f"echo: {prompt}", usage)).encode(), "application/json"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _reply(model: str, text: str, usage: dict[str, int] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "r", "object": "chat.completion", "created": 0, "model": model,
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                        "finish_reason": "stop"}]}
    if usage is not None:
        out["usage"] = usage
    return out
