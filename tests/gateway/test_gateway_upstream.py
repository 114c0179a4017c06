"""The gateway in front of a real HTTP upstream: errors pass through, failures are 502, disconnects cancel."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import openai
import pytest
from gateway_kit import start_server, stop_server


class ScriptedUpstream:
    """An OpenAI-compatible server on 127.0.0.1 whose behaviour the prompt chooses.

    ``error``: a 500 with an OpenAI-style error body; ``drop``: the connection is closed with no
    answer; ``slow``: no answer for 10 s, and it notes when the caller hangs up first.
    """

    def __init__(self) -> None:
        self.port = 0
        self.hung_up = threading.Event()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                body = json.loads(await reader.readexactly(length))
                prompt = body["messages"][-1]["content"]
                if prompt == "drop":
                    return
                if prompt == "slow":
                    try:
                        await asyncio.wait_for(reader.read(1), 10)  # b"" once the gateway hangs up
                        self.hung_up.set()
                    except TimeoutError:
                        pass
                    return
                payload = json.dumps({"error": {"message": "the model is overloaded", "type": "server_error",
                                                "code": "overloaded", "param": None}}).encode()
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(payload), payload))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()  # every path, cancellation included: no socket is left to the collector

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()


@pytest.fixture(scope="module")
def upstream_server(tmp_path_factory):
    upstream = ScriptedUpstream()
    config = (f"upstreams:\n  - name: test-upstream\n    base_url: http://127.0.0.1:{upstream.port}/v1\n"
              "    models: [mythos-5]\n    timeout_s: 30\n")
    server = start_server(tmp_path_factory.mktemp("upstream"), gateway_yaml=config)
    yield server, upstream
    stop_server(server)
    upstream.close()


def ask(server, prompt: str, **kwargs):
    with openai.OpenAI(base_url=server.base + "/v1", api_key=server.demo_key, max_retries=0, **kwargs) as c:
        return c.chat.completions.create(model="mythos-5", messages=[{"role": "user", "content": prompt}])


def test_an_upstream_error_passes_through_as_an_openai_error(upstream_server):
    server, _ = upstream_server
    with pytest.raises(openai.InternalServerError) as caught:
        ask(server, "error")
    assert caught.value.code == "overloaded" and "overloaded" in caught.value.message


def test_an_upstream_that_hangs_up_is_a_502(upstream_server):
    server, _ = upstream_server
    with pytest.raises(openai.APIStatusError) as caught:
        ask(server, "drop")
    assert caught.value.status_code == 502 and caught.value.code == "upstream-error"


def test_a_client_that_goes_away_cancels_the_upstream_request(upstream_server):
    server, upstream = upstream_server
    body = {"model": "mythos-5", "messages": [{"role": "user", "content": "slow"}]}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.base + "/v1/chat/completions", json=body, timeout=httpx.Timeout(30, read=0.5),
                   headers={"Authorization": f"Bearer {server.demo_key}"})
    assert upstream.hung_up.wait(30), "the upstream request was not cancelled when the client went away"
    deadline = time.monotonic() + 30  # bounds a failure only: the loop ends when the record is there
    while time.monotonic() < deadline:
        records = server.admin_call("GET", "/v1/audit/records", params={"kind": "completion"}).json()["records"]
        cancelled = [r for r in records if r["body"].get("cancelled")]
        if cancelled:
            break
        time.sleep(0.05)
    assert cancelled and cancelled[-1]["body"]["upstream_status"] == 499
