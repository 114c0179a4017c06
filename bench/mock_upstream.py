"""A fast OpenAI-compatible mock model server for the gateway benchmark (loopback only).

    python bench/mock_upstream.py --port 9100

It answers every POST with a fixed chat completion (or, when the body asks for
``"stream": true``, a fixed stream of 8 SSE chunks plus a usage chunk), and ``GET
/v1/models`` with one model. It is an asyncio protocol with HTTP/1.1 keep-alive and no
framework, so that it costs far less per request than anything measured in front of it.
"""

from __future__ import annotations

import argparse
import asyncio

import orjson

COMPLETION = orjson.dumps({
    "id": "mock-1", "object": "chat.completion", "created": 1782000000, "model": "mock",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "The quick brown fox jumps over the lazy dog."},
                 "finish_reason": "stop", "logprobs": None}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22},
})


def _chunk(obj: dict) -> bytes:
    data = b"data: " + orjson.dumps(obj) + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


STREAM = b"".join(
    [_chunk({"id": "mock-1", "object": "chat.completion.chunk", "created": 1782000000, "model": "mock",
             "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]})
     for w in ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"][:8]]
    + [_chunk({"id": "mock-1", "object": "chat.completion.chunk", "created": 1782000000, "model": "mock",
               "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}})]
    + [b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"]
)
MODELS = orjson.dumps({"object": "list", "data": [{"id": "mythos-5", "object": "model", "created": 0, "owned_by": "mock"}]})


def _response(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)) + body


PLAIN = _response(COMPLETION)
STREAMED = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" + STREAM
LISTED = _response(MODELS)


class Mock(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None].strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            if head.startswith(b"get"):
                self.transport.write(LISTED)
            elif b'"stream":true' in body.replace(b" ", b""):
                self.transport.write(STREAMED)
            else:
                self.transport.write(PLAIN)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Mock, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=9100)
    asyncio.run(serve(ap.parse_args().port))
