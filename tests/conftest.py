"""Suite-wide isolation: no test writes to the developer's real data folder.

Commands such as `kapcds train` write audit entries to the configured store, so every test
session gets its own ``KAPCDS_HOME`` (and no ``KAPCDS_DATABASE_URL``) unless a test or
fixture sets its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_ENV = ("KAPCDS_HOME", "KAPCDS_DATABASE_URL")


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throw-away data folder for the whole test session."""
    saved = {name: os.environ.get(name) for name in _ENV}
    home = tmp_path_factory.mktemp("kapcds-test-home")
    os.environ["KAPCDS_HOME"] = str(home)
    os.environ.pop("KAPCDS_DATABASE_URL", None)
    try:
        yield home
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


BROWSER_GROUP = "browser"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``-n 2 --dist loadgroup``, scripts/run-tests.sh) the browser
    tests share one worker, in file order: they share one dashboard server and chromium per
    worker and each starts its own servers on free ports, so two of them at once would only
    double what the two cores carry. Every other test is spread over the workers."""
    for item in items:
        if "tests/e2e/" in item.nodeid or item.nodeid.startswith("e2e/"):
            item.add_marker(pytest.mark.xdist_group(BROWSER_GROUP))
