"""The check server (dbdojo.commands.grade_server): ``dojo grade`` answered by a warm process
says exactly what the command says in its own process; it serves only its own user and its own
Python environment; ``dojo up`` starts it, ``dojo down`` stops it, it restarts on new code and
exits when its state directory goes; whenever it cannot answer, the command grades itself."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest

from dbdojo import locate
from dbdojo.commands import grade_client, grade_control, grade_server
from dbdojo.entry import served
from dbdojo.launch import wait_until
from dbdojo.paths import PACKAGE_DIR
from tests.fixtures.checking.cli_lab import REF
from tests.helpers import DOJO, dojo, isolated_state


def _served() -> int:
    reply = grade_control.ping()
    assert reply is not None, "the session's check server does not answer"
    return reply["served"]


def _grade_cases(root: Path) -> dict[str, list[str]]:
    (root / "reordered.sql").write_text(REF.replace("ORDER BY city", "ORDER BY city DESC"))
    (root / "binary.sql").write_bytes(b"\x7fELF\x02\x01\x00\x00" * 8)
    ref, wrong = str(root / "ref.sql"), str(root / "wrong.sql")
    return {
        "correct": ["zz.cities", "--answer", ref],
        "wrong": ["zz.cities", "--answer", wrong],
        "json, two answers": ["zz.cities", "--answer", ref, "--answer", wrong, "--json"],
        "relative path": ["zz.cities", "--answer", "wrong.sql"],
        "not an answer": ["zz.cities", "--answer", str(root / "binary.sql")],
        "missing file": ["zz.cities", "--answer", "nope.sql"],
        "unknown exercise": ["zz.nope", "--answer", ref, "--json"],
        "a reference": ["--reference", ref, "--answer", str(root / "reordered.sql")],
        "usage error": ["zz.cities"],
        "bad option": ["zz.cities", "--answer", ref, "--kind", "cobol"],
    }


def test_a_served_grade_says_what_the_command_says_in_its_own_process(lab_env, monkeypatch):
    monkeypatch.chdir(lab_env)
    cases = _grade_cases(lab_env)
    before = _served()
    for name, args in cases.items():
        served = dojo("grade", *args)
        alone = dojo("grade", *args, DOJO_CHECK_SERVER="0")
        assert (served.returncode, served.stdout) == (alone.returncode, alone.stdout), name
        assert served.stderr == alone.stderr, name
    assert _served() - before == len(cases), "some grades did not go to the check server"
    exits = {name: dojo("grade", *args).returncode for name, args in cases.items()}
    assert exits["correct"] == 0 and exits["wrong"] == 1 and exits["missing file"] == 2
    assert exits["usage error"] == 2 and exits["not an answer"] == 2


def test_an_answer_on_standard_input_is_graded_in_the_process_that_has_it(lab_env):
    before = _served()
    for answer in ("/dev/stdin", "/proc/self/fd/0"):
        with open(lab_env / "ref.sql") as stdin:
            done = subprocess.run(
                [str(DOJO), "grade", "zz.cities", "--answer", answer],
                stdin=stdin, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
        assert done.returncode == 0 and "correct" in done.stdout, done.stdout + done.stderr
    assert _served() == before
    assert not served(["grade", "x", "--answer=/dev/fd/3"]) and served(["grade", "x"])


def test_a_grade_in_another_environment_is_not_served_but_still_graded(lab_env):
    before = _served()
    done = dojo("grade", "zz.cities", "--answer", str(lab_env / "ref.sql"), PYTHONPATH="/nowhere")
    assert done.returncode == 0 and "correct" in done.stdout
    off = dojo("grade", "zz.cities", "--answer", str(lab_env / "ref.sql"), DOJO_CHECK_SERVER="off")
    assert off.returncode == 0 and "correct" in off.stdout
    assert _served() == before


def test_the_server_serves_only_grades_of_its_own_user_and_python(seeded_tiny, tmp_path):
    path = grade_client.socket_path(locate.state_dir())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    asked = grade_client.request(["down"])
    assert "refused" in grade_client.call(path, asked)
    other = {**grade_client.request(["grade", "x", "--answer", "y"]), "prefix": "/other/venv"}
    assert "environment" in grade_client.call(path, other)["refused"]
    assert "refused" in grade_client.call(path, ["not", "a", "request"])
    poisoned = grade_client.request(["grade", "x", "--answer", "y"])
    poisoned["env"] = {**poisoned["env"], "X": "a\x00b"}
    assert "refused" in grade_client.call(path, poisoned)
    gone = {**grade_client.request(["grade", "x", "--answer", "y"]), "cwd": "/no/such/dir"}
    assert "refused" in grade_client.call(path, gone)
    answer = tmp_path / "answer.sql"
    answer.write_text("SELECT 1 AS x")
    before = _served()  # and it still grades, in its own environment again
    done = dojo("grade", "--reference", "SELECT 1 AS x", "--answer", str(answer))
    assert done.returncode == 0 and _served() == before + 1, done.stdout + done.stderr
    if os.geteuid() == 0:  # another user cannot even connect
        with warnings.catch_warnings():  # the child only switches user and connects
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgid(65534)
                os.setuid(65534)
                with socket.socket(socket.AF_UNIX) as conn:
                    conn.connect(path)
            except PermissionError:
                code = 0
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0, "another user connected to the check server"


def test_when_no_server_answers_the_client_says_so():
    with isolated_state() as root:
        path = grade_client.socket_path(str(root))
        assert grade_client.ask(["grade"], str(root)) is None  # no socket
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen()

        def hang_up() -> None:  # a server dying mid-check: accepts, reads, closes
            conn, _ = listener.accept()
            conn.recv(1 << 20)
            conn.close()

        thread = threading.Thread(target=hang_up)
        thread.start()
        assert grade_client.ask(["grade"], str(root)) is None
        thread.join()
        listener.close()  # bound, nobody listening: refused
        assert grade_client.ask(["grade"], str(root)) is None


def test_up_starts_it_down_stops_it_and_it_follows_the_code_and_its_directory():
    with isolated_state() as root:
        up = dojo("up", "--only", "redis")
        assert up.returncode == 0, up.stderr
        assert "check server" in up.stdout
        pid = grade_control.running()
        assert pid and wait_until(grade_control.ping, 30)
        assert grade_control.start() == pid, "a second server was started"
        stamp = grade_control.ping()["stamp"]
        touched = PACKAGE_DIR / "commands" / "grade_client.py"
        before = touched.stat()
        os.utime(touched, ns=(before.st_atime_ns, time.time_ns() + 5 * 10**9))
        try:  # new code on disk: the same process starts again with it
            assert wait_until(
                lambda: (grade_control.ping() or {"stamp": stamp})["stamp"] != stamp, 30
            )
            assert grade_control.ping()["pid"] == pid
        finally:
            os.utime(touched, ns=(before.st_atime_ns, before.st_mtime_ns))
        down = dojo("down")
        assert "stopped" in down.stdout and "check server" in down.stdout
        assert grade_control.running() is None and not Path(root / "check.sock").exists()
        pid = grade_control.start(wait=30)
        assert pid and grade_control.ping()
        (root / "check.sock").unlink()  # its state directory going away
        assert wait_until(lambda: grade_control.running() is None, 30), "it outlived its socket"
    if grade_control.running():  # the session's server restarts twice too: let it settle
        current = list(grade_server.code_stamp())
        assert wait_until(lambda: (grade_control.ping() or {}).get("stamp") == current, 30)


def test_up_only_some_then_down_only_some_keeps_it_while_servers_run():
    with isolated_state():
        assert dojo("up", "--only", "redis").returncode == 0
        assert grade_control.start(wait=30)
        down = dojo("down", "--only", "mongo")  # redis still runs: grades still go to it
        assert down.returncode == 0 and grade_control.running()
        dojo("down", "--only", "redis")
        assert grade_control.running() is None


@pytest.mark.parametrize("value", ["0", "off", "No", "false"])
def test_it_can_be_turned_off(value, monkeypatch):
    monkeypatch.setenv(grade_client.OFF_ENV, value)
    assert not grade_client.enabled()
    with isolated_state():
        assert grade_control.start() is None
