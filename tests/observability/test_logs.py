"""Logs: JSON lines with the request id, one line per interval for a repeated failure, and never a secret."""

from __future__ import annotations

import asyncio
import io
import logging

import orjson
from hypothesis import given
from hypothesis import strategies as st
from ops_kit import chat, running

from clearance.observability import logs
from clearance.registry.records import split_token
from clearance.settings import Settings, SettingsError


def test_urls_lose_their_password_and_tokens_their_secret():
    assert logs.redact("postgresql://app:s3cr3t@db:5432/clearance") == "postgresql://app:[redacted]@db:5432/clearance"
    assert logs.redact("redis://:hunter2@cache:6379/0") == "redis://:[redacted]@cache:6379/0"
    assert logs.redact("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer [redacted]"
    assert logs.redact("key clr_0a1b2c3d4e5f_Zm9v-YmFy_baz used") == "key clr_0a1b2c3d4e5f_[redacted] used"
    assert logs.redact("dbname=x password=pw user=u") == "dbname=x password=[redacted] user=u"
    assert logs.redact("nothing secret at https://example.org/a:b") == "nothing secret at https://example.org/a:b"


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="@/ "), min_size=1))
def test_any_url_password_is_redacted(password):
    url = f"postgresql://clearance:{password}@db.internal:5432/clearance"
    assert password not in logs.redact(url).removeprefix("postgresql://clearance:").removesuffix(
        "@db.internal:5432/clearance").replace("[redacted]", "")


def test_a_repeated_message_passes_once_per_interval_and_says_how_many_were_held():
    now = [0.0]
    out = io.StringIO()
    handler = logs.handler("json", 30.0, out)
    next(f for f in handler.filters if isinstance(f, logs.RateLimit)).clock = lambda: now[0]
    logger = logging.getLogger("clearance.test.repeat")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for second in range(120):  # a store outage polled every second for two minutes
            now[0] = float(second)
            logger.warning("store unreachable: %s", f"attempt {second}")
        lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
    assert len(lines) == 4  # at 0, 30, 60 and 90 s
    assert [line.get("suppressed_repeats", 0) for line in lines] == [0, 29, 29, 29]
    assert lines[0]["message"] == "store unreachable: attempt 0" and lines[0]["level"] == "warning"


def test_json_lines_carry_the_request_id_of_the_call():
    out = io.StringIO()
    handler = logs.handler("json", 0, out)
    logger = logging.getLogger("clearance.test.rid")
    logger.addHandler(handler)
    logger.propagate = False
    token = logs.REQUEST_ID.set("req-42")
    try:
        logger.error("upstream failed")
    finally:
        logs.REQUEST_ID.reset(token)
        logger.removeHandler(handler)
    line = orjson.loads(out.getvalue())
    assert line["request_id"] == "req-42" and line["logger"] == "clearance.test.rid" and line["message"] == "upstream failed"


def test_log_settings_are_checked_by_name():
    assert Settings.from_env({"CLEARANCE_LOG_FORMAT": "JSON"}).log_format == "json"
    for name, value in (("CLEARANCE_LOG_FORMAT", "xml"), ("CLEARANCE_LOG_LEVEL", "loud"),
                        ("CLEARANCE_LOG_REPEAT_INTERVAL", "-1"), ("CLEARANCE_ADMIN_PORT", "99999")):
        try:
            Settings.from_env({name: value})
        except SettingsError as exc:
            assert name in str(exc)
        else:
            raise AssertionError(f"{name}={value} was accepted")


def test_no_token_or_database_password_reaches_the_logs(tmp_path, pg_url):
    """Every line logged at DEBUG while keys are issued, used, refused and the database fails."""
    out = io.StringIO()
    logs.configure("json", "DEBUG", 0, out)
    secrets: list[str] = []
    try:
        async def calls() -> None:
            async with running(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}")) as run, run.client() as client:
                # A token's secret may itself hold "_": split it as the server does.
                secrets.extend([split_token(run.key)[1], split_token(run.admin_token)[1]])
                auth = {"Authorization": f"Bearer {run.key}"}
                await client.post("/v1/chat/completions", json=chat(), headers=auth)
                await client.post("/v1/chat/completions", json=chat(), headers={"Authorization": f"Bearer {run.key}x"})
                await client.get("/metrics", headers=auth)
                logging.getLogger("clearance.test").info("caller sent Authorization: Bearer %s", run.key)
                logging.getLogger("clearance.test").info("issued %s", run.admin_token)

        asyncio.run(calls())
        # A database that refuses the password: the driver's error is logged with its traceback.
        password = "pw-9f8e7d6c5b4a"
        secrets.append(password)
        bad = pg_url.replace("postgresql://", "postgresql+psycopg://").split("@", 1)
        url = f"{bad[0].split('//')[0]}//nobody:{password}@127.0.0.1:1/{bad[1].split('/', 1)[1]}"
        try:
            from clearance.wiring import build_app

            build_app(Settings(database_url=url))
        except Exception:  # noqa: BLE001 - the failure is what is logged
            logging.getLogger("clearance.test").exception("could not open the database at %s", url)
    finally:
        logs.configure("text", "WARNING", 30.0)
    text = out.getvalue()
    assert "could not open the database" in text and "[redacted]" in text
    for secret in secrets:
        assert secret not in text, f"a secret reached the logs: {secret[:4]}…"
