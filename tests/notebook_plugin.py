"""Notebook runs under pytest (nbval): each notebook file gets the checkout's servers (started
and seeded once), its worker's workspace freshly reset before its first cell (no spare copy,
and dropped when the worker ends: it only held disk until the next run's reset), and a kernel
started with ``DOJO_WORKSPACE`` and ``DOJO_STRICT=1`` so SQL errors raise.

Loaded from the top-level ``conftest.py``. Fixtures and other hooks may change ``os.environ``
(an isolated ``DOJO_STATE_DIR``, say); notebook kernels always get the environment pytest
started with, so they use the checkout's servers.
"""

from __future__ import annotations

import os

import pytest

from dbdojo.notebook import testenv
from dbdojo.settings import RESET_SPARES_ENV

BASE_ENV: dict[str, str] = {}
_prepared: dict[str, str] = {}  # notebook node id -> "" (ready) or why it is not


def pytest_configure(config: pytest.Config) -> None:
    BASE_ENV.update(os.environ)
    # No spare copies of the notebooks' workspaces (DOJO_RESET_SPARES): each is a copy of the
    # dataset (0.8 GB), and lesson X1's replica copies the whole cluster again; a CI disk ran
    # full. A notebook's reset then copies the dataset while it waits (seconds, once each).
    BASE_ENV.setdefault(RESET_SPARES_ENV, "0")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        return
    try:
        with testenv.environ(BASE_ENV):
            testenv.drop_worker_workspace()
    except Exception as exc:  # the servers already down, say: the next run resets it anyway
        print(f"dbdojo: the worker's notebook workspace was not dropped: {exc}")


def _notebook_of(item: pytest.Item) -> pytest.Collector | None:
    """The nbval notebook file of a notebook cell, None for any other test."""
    return item.parent if type(item).__name__ == "IPyNbCell" else None


def _prepare(nodeid: str) -> str:
    """Reset the worker's workspace for a notebook; return "" or what went wrong."""
    try:
        with testenv.environ(BASE_ENV):
            testenv.fresh_workspace(testenv.worker_workspace())
    except Exception as exc:  # reported on the notebook's cells, with the reason
        return f"{type(exc).__name__}: {exc}"
    return ""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item):
    notebook = _notebook_of(item)
    if notebook is None:
        return (yield)
    first = notebook.nodeid not in _prepared
    if first:
        _prepared[notebook.nodeid] = _prepare(notebook.nodeid)
    ws = testenv.worker_workspace()
    with testenv.environ({**BASE_ENV, **testenv.kernel_env(ws)}):
        result = yield  # nbval starts the notebook's kernel here, on its first cell
    if problem := _prepared[notebook.nodeid]:
        where = "" if first else " (see its first cell)"
        pytest.fail(f"notebook not run: {problem}{where}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def seeded_checkout() -> dict[str, str]:
    """The checkout's own servers, up and seeded at the default scale: what notebooks run on.
    Returns the environment to run notebook kernels and ``dojo`` subprocesses with."""
    with testenv.environ(BASE_ENV):
        try:
            testenv.ensure_seeded()
        except testenv.NotReady as exc:
            pytest.fail(str(exc), pytrace=False)
    return dict(BASE_ENV)


@pytest.fixture
def fresh_worker_workspace(seeded_checkout: dict[str, str]) -> dict[str, str]:
    """The worker's notebook workspace, reset; returns the environment for a kernel on it."""
    with testenv.environ(seeded_checkout):
        ws = testenv.worker_workspace()
        testenv.fresh_workspace(ws)
    return {**seeded_checkout, **testenv.kernel_env(ws)}
