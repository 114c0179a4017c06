"""A scriptable OpenAI-compatible target for the harness tests (loopback only).

    python mock_target.py PORT LOG [--delay S] [--flaky] [--key K]

Every chat completion's user message is appended to LOG (one line per request, flushed),
so a test can tell exactly which prompts were sent when. A prompt containing "refuse" is
refused, one containing "toolong" gets a 400, one containing "guardblock" the 403
``guardrail-blocked`` a guarded clearance gateway answers. With ``--flaky``, the first request for a prompt whose number is divisible by 5
gets a 429 and by 7 a 503 (numbers are the trailing digits of the prompt).
"""

from __future__ import annotations

import asyncio
import re
import sys

import orjson
from aiohttp import web


def make_app(log_path: str, delay: float, flaky: bool, key: str | None) -> web.Application:
    seen: set[str] = set()
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the server's life

    async def chat(request: web.Request) -> web.Response:
        if key is not None and request.headers.get("Authorization") != f"Bearer {key}":
            return web.json_response({"error": {"message": "bad key", "code": "invalid_api_key"}}, status=401)
        body = orjson.loads(await request.read())
        prompt = body["messages"][-1]["content"]
        log.write(prompt.replace("\n", " ") + "\n")
        number = int((re.search(r"(\d+)$", prompt) or re.search("()", "")).group(1) or 1)
        first = prompt not in seen
        seen.add(prompt)
        if "toolong" in prompt:
            return web.json_response({"error": {"message": "context length exceeded"}}, status=400)
        if "guardblock" in prompt:
            return web.json_response({"error": {"message": "the prompt was blocked by a guardrail",
                                                "code": "guardrail-blocked", "decision_id": 7}}, status=403)
        if flaky and first and number % 5 == 0:
            return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0"})
        if flaky and first and number % 7 == 0:
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        await asyncio.sleep(delay)
        text = "I'm sorry, but I can't help with that." if "refuse" in prompt else f"Sure. Here is the answer to: {prompt}"
        return web.json_response({"id": "x", "object": "chat.completion", "model": body["model"],
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                               "finish_reason": "stop"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


if __name__ == "__main__":
    port, log_path = int(sys.argv[1]), sys.argv[2]
    args = sys.argv[3:]
    delay = float(args[args.index("--delay") + 1]) if "--delay" in args else 0.0
    key = args[args.index("--key") + 1] if "--key" in args else None
    web.run_app(make_app(log_path, delay, "--flaky" in args, key), host="127.0.0.1", port=port, print=None)
