"""The gateway's end-to-end server, started once per module (see ``gateway_kit``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gateway_kit import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve"))
    yield running
    stop_server(running)
