"""pytest wiring for the `gateway` tier: each real gateway started once per session, early, in parallel.

Tests marked `gateway` (tests/test_gateway_real*.py) take `real_gateway` (parametrized over both kinds) or
`gateway_pool`. When the install is missing the tier is skipped with the install hint — and fails under
CI=true, where a skip would hide that nothing was tested. Both gateways start as soon as collection shows a
`gateway` test will run, so ClawdBot's 20-65 s start overlaps the tests that run before them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.realgateway.harness import INSTALL_HINT, KINDS, RealGateway, missing_parts


class GatewayPool:
    """Both gateways, started together; `get` waits for the one asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.gateways = {kind: RealGateway.create(kind, root / kind) for kind in KINDS}
        self._ready: set[str] = set()
        for gateway in self.gateways.values():
            gateway.start()

    def get(self, kind: str) -> RealGateway:
        gateway = self.gateways[kind]
        if kind not in self._ready or not gateway.running:
            if not gateway.running:
                gateway.start()
            gateway.wait_ready()
            self._ready.add(kind)
        return gateway

    def close(self) -> None:
        for gateway in self.gateways.values():
            gateway.stop()
        if not os.environ.get("CRONMIRROR_KEEP_GATEWAYS"):  # set it to look at their logs and state
            shutil.rmtree(self.root, ignore_errors=True)


_pool: GatewayPool | None = None


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _start_pool() -> GatewayPool:
    global _pool
    if _pool is None:
        _pool = GatewayPool(Path(tempfile.mkdtemp(prefix="cronmirror-gateways-")))
    return _pool


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(item.get_closest_marker("gateway") for item in items) and not missing_parts():
        _start_pool()


def pytest_sessionfinish(session: pytest.Session) -> None:
    global _pool
    if _pool is not None:
        _pool.close()
        _pool = None


@pytest.fixture(scope="session")
def gateway_pool() -> GatewayPool:
    missing = missing_parts()
    if missing:
        message = f"not installed: {', '.join(missing)}; {INSTALL_HINT}"
        if _in_ci():
            pytest.fail(f"CI=true but the real gateways are missing ({message})", pytrace=False)
        pytest.skip(message)
    return _start_pool()  # stopped at the end of the session (pytest_sessionfinish)


@pytest.fixture(params=KINDS)
def real_gateway(request: pytest.FixtureRequest, gateway_pool: GatewayPool) -> RealGateway:
    return gateway_pool.get(request.param)
