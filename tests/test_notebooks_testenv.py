"""The notebook runs' workspace per worker: two test sessions in one checkout never share one."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = (
    "import sys, time; from dbdojo.notebook import testenv; "
    "print(testenv.worker_workspace().name, flush=True); time.sleep(float(sys.argv[1]))"
)


def _start(env: dict[str, str], hold: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CODE, str(hold)], env=env, stdout=subprocess.PIPE, text=True
    )


def test_a_second_session_takes_the_next_workspace_and_a_finished_one_frees_it(tmp_path):
    env = {**os.environ, "DOJO_STATE_DIR": str(tmp_path), "PYTEST_XDIST_WORKER": "gw7"}
    first = _start(env, 30)
    try:
        assert first.stdout.readline().strip() == "nb_gw7"
        second = _start(env, 0)
        assert second.communicate(timeout=60)[0].strip() == "nb_gw7_2"
    finally:
        first.kill()
        first.wait()
    third = _start(env, 0)  # the killed session's lock went with its process
    assert third.communicate(timeout=60)[0].strip() == "nb_gw7"


def test_kernel_environment_is_strict_and_names_the_workspace():
    from dbdojo.notebook.testenv import kernel_env
    from dbdojo.workspace import Workspace

    env = kernel_env(Workspace("nb_gw0_2"))
    assert env == {
        "DOJO_WORKSPACE": "nb_gw0_2",
        "DOJO_STRICT": "1",
        "DOJO_WORKSPACE_SUFFIX": "_nb_gw0_2",
    }


DROP = (
    "from dbdojo.dataset.workspaces import reset; from dbdojo.notebook import testenv; "
    "ws = testenv.worker_workspace(); reset(ws, services=('postgres', 'redis')); "
    "print(testenv.drop_worker_workspace()); testenv._ready.add('seeded'); "
    "print(testenv.drop_worker_workspace())"
)


def test_a_worker_drops_its_notebook_workspace_when_it_ends(seeded_tiny):
    """Only a worker that ran notebooks (seeded) drops its workspace, and all of it."""
    from dbdojo.dataset import pg

    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw9"}
    out = subprocess.run(
        [sys.executable, "-c", DROP], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    before_seeded, dropped = out.stdout.splitlines()
    assert before_seeded == "[]"
    assert "PostgreSQL dojo_nb_gw9" in dropped and "Redis" in dropped, dropped
    with pg.admin() as conn:
        assert not pg.exists(conn, "dojo_nb_gw9")
