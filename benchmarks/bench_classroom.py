"""A classroom of N learners (default 30) on servers of its own: time to bring it up, disk
and memory per learner, N simulated learners checking answers for S seconds (p50/p95 latency,
errors) as fast as they get answers, then at a realistic pace (one check about every
``--pace`` seconds each; target p95 <= 1 s), and the hub's login time per learner.

    .venv-test/bin/python benchmarks/bench_classroom.py [--learners 30] [--seconds 60]
        [--scale tiny] [--spawn 3] [--pace 20]

Runs as root (system users). Uses a fresh state directory under /var/tmp with its own
servers and dataset (``--scale``; ``default`` needs ~0.8 GB per learner as full copies, a
few MB as clones in the classroom's XFS image: ``bench_learner_disk.py``), and removes the
classroom, its users and its servers at the end. ``--spawn K`` starts K learners' JupyterLab
and one kernel each to measure their memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXERCISE = "intro.no-phone"
QUERY = "SELECT city, count(*) AS without_phone FROM customers WHERE {} GROUP BY city ORDER BY 1"
ANSWERS = [QUERY.format("phone IS NULL"), QUERY.format("phone = NULL")]  # right, wrong


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def disk_per_learner(learners) -> dict[str, float]:
    """MiB per learner: PostgreSQL database (its own bytes where it is a clone), Redis
    memory, MongoDB data, home."""
    from dbdojo.classroom import provision, storage
    from dbdojo.connect import mongo_client, redis_client
    from dbdojo.workspace import Workspace

    pg = [storage.learner_bytes(Workspace(x.workspace).database)[0] for x in learners]
    redis_mem = redis_client(Workspace("main")).info("memory")["used_memory"]
    with mongo_client() as client:
        mongo = [
            client[Workspace(x.workspace).database].command("dbStats").get("dataSize", 0)
            for x in learners
        ]
    homes = [
        sum(f.stat().st_size for f in provision.home(x).rglob("*") if f.is_file()) for x in learners
    ]
    mib = 1024 * 1024
    return {
        "postgres": statistics.mean(pg) / mib,
        "redis (server total / learners)": redis_mem / len(learners) / mib,
        "mongo": statistics.mean(mongo) / mib,
        "home": statistics.mean(homes) / mib,
    }


def check_load(service: dict, learners, seconds: float, pace: float = 0.0) -> dict[str, float]:
    """Every learner posts a check (right and wrong answers in turn) as soon as the last one
    returned (``pace`` 0), or about every ``pace`` seconds (0.5x to 1.5x, a random start), for
    ``seconds``."""
    url = f"http://{service['host']}:{service['port']}/api/check"
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def learner_loop(learner, offset: int) -> None:
        i = offset
        pick = random.Random(offset)
        time.sleep(pick.uniform(0, pace))
        while time.monotonic() < deadline:
            body = json.dumps({"exercise": EXERCISE, "answer": ANSWERS[i % 2]}).encode()
            request = urllib.request.Request(
                url, data=body, headers={"Authorization": f"Bearer {learner.token}"}
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    verdict = json.loads(response.read())
                if verdict["status"] != ("passed" if i % 2 == 0 else "failed"):
                    errors.append(f"wrong verdict: {verdict['status']} {verdict['message']}")
            except Exception as exc:
                errors.append(repr(exc)[:200])
            latencies.append(time.perf_counter() - started)
            i += 1
            if pace:
                time.sleep(min(pick.uniform(0.5, 1.5) * pace, max(0, deadline - time.monotonic())))

    threads = [threading.Thread(target=learner_loop, args=(x, n)) for n, x in enumerate(learners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "checks": len(latencies),
        "checks/s": len(latencies) / seconds,
        "p50 s": pct(latencies, 0.5),
        "p95 s": pct(latencies, 0.95),
        "errors": len(errors),
        "first error": errors[0] if errors else "",
    }


def with_check_workers(count: str) -> dict:
    """The classroom service restarted with ``count`` check workers ("": the default)."""
    from dbdojo.classroom import control, workers

    os.environ[workers.WORKERS_ENV] = count
    info = control.service_info() or {}
    control.stop_service()
    service = control.start_service(info["host"], info["port"], info["hub"])
    return {**service, "workers": workers.default_count()}


def login_times(hub_url: str, learners) -> list[float]:
    """Seconds from the login form's POST to the hub's answer (no server started)."""
    times = []
    for learner in learners:
        jar = urllib.request.HTTPCookieProcessor()
        opener = urllib.request.build_opener(jar, NoRedirect())
        page = opener.open(hub_url + "hub/login").read().decode()
        xsrf = page.split('name="_xsrf" value="')[1].split('"')[0]
        data = urllib.parse.urlencode(
            {"_xsrf": xsrf, "username": learner.name, "password": learner.password}
        ).encode()
        started = time.perf_counter()
        try:
            opener.open(hub_url + "hub/login?next=/hub/home", data=data)
        except urllib.error.HTTPError as exc:
            if exc.code != 302:
                raise
        times.append(time.perf_counter() - started)
    return times


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def spawn_memory(hub_info: dict, learners, count: int) -> dict[str, float]:
    """Start ``count`` learners' JupyterLab through the hub's API; MiB of each learner's
    processes (server, and a kernel with the kit loaded), and seconds to start."""
    import pwd
    import subprocess

    from dbdojo.classroom import layout, provision

    token = hub_info["api_token"]
    started_in = []
    for learner in learners[:count]:
        request = urllib.request.Request(
            f"{hub_info['api_url']}/users/{learner.user}/server",
            method="POST",
            headers={"Authorization": f"token {token}"},
        )
        begun = time.perf_counter()
        urllib.request.urlopen(request, timeout=300)
        while True:
            user = json.loads(
                urllib.request.urlopen(
                    urllib.request.Request(
                        f"{hub_info['api_url']}/users/{learner.user}",
                        headers={"Authorization": f"token {token}"},
                    )
                ).read()
            )
            if user.get("server") and not user.get("pending"):
                break
            time.sleep(0.5)
        started_in.append(time.perf_counter() - begun)
        env = {**provision.spawn_env(learner), "PATH": f"{layout.venv_dir()}/bin:/usr/bin:/bin"}
        kernel = (
            "from IPython.core.interactiveshell import InteractiveShell as S; import time;"
            "S.instance().run_line_magic('load_ext', 'dbdojo'); time.sleep(8)"
        )
        subprocess.Popen(
            [
                "runuser",
                "-u",
                learner.user,
                "--",
                "env",
                *(f"{k}={v}" for k, v in env.items()),
                layout.venv_bin("python"),
                "-c",
                kernel,
            ],
            cwd=provision.home(learner),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    time.sleep(6)
    per_learner = []
    for learner in learners[:count]:
        uid = pwd.getpwnam(learner.user).pw_uid
        rss = sum(
            p.memory_info().rss
            for p in psutil.process_iter(["uids"])
            if p.info["uids"] and p.info["uids"].real == uid
        )
        per_learner.append(rss / 1024 / 1024)
    return {
        "MiB per learner (server + kernel)": statistics.mean(per_learner),
        "server start s (median)": statistics.median(started_in),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--spawn", type=int, default=3)
    parser.add_argument(
        "--pace", type=float, default=20.0, help="seconds between a learner's checks"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the classroom creates system users")
    root = Path(tempfile.mkdtemp(prefix="dojo-bench-classroom-", dir="/var/tmp"))
    root.chmod(0o755)
    os.environ["DOJO_STATE_DIR"] = str(root)
    os.environ["DOJO_CLASS_SIZE"] = str(args.learners)  # PostgreSQL sized for the class
    from dbdojo import procs
    from dbdojo.classroom import control, hub, roster
    from dbdojo.dataset import ensure_seeded
    from dbdojo.services import manager

    manager.up(wait=True)
    try:
        ensure_seeded(args.scale)
        learners = [roster.new_learner(f"bench{i:03d}") for i in range(args.learners)]
        port = procs.free_port()
        started = time.perf_counter()
        where = control.up(learners, "127.0.0.1", port, say=lambda _: None)
        up_seconds = time.perf_counter() - started
        print(
            f"classroom of {args.learners} learners ({args.scale} data) up in {up_seconds:.1f} s"
            f" ({up_seconds / args.learners:.2f} s per learner)"
        )
        for what, mib in disk_per_learner(learners).items():
            print(f"  per learner, {what}: {mib:.1f} MiB")
        logins = login_times(where["hub"], learners)
        print(
            f"hub login ({len(logins)} learners one after another): median "
            f"{statistics.median(logins) * 1000:.0f} ms, p95 {pct(logins, 0.95) * 1000:.0f} ms"
        )
        service = control.service_info()
        load = {}
        for label, count in (("serial", "1"), ("parallel", "")):  # before, after issue 18
            service = with_check_workers(count)
            load = check_load(service, learners, args.seconds)
            print(
                f"{args.learners} learners checking for {args.seconds:.0f} s, {label} "
                f"({service['workers']} check workers): {load['checks']} checks "
                f"({load['checks/s']:.1f}/s), p50 {load['p50 s']:.2f} s, "
                f"p95 {load['p95 s']:.2f} s, errors {load['errors']} {load['first error']}"
            )
        paced = check_load(service, learners, max(args.seconds, 3 * args.pace), args.pace)
        print(
            f"{args.learners} learners each checking about every {args.pace:.0f} s: "
            f"{paced['checks']} checks, p50 {paced['p50 s']:.2f} s, p95 {paced['p95 s']:.2f} s "
            f"(target <= 1 s), errors {paced['errors']} {paced['first error']}"
        )
        single = check_load(service, learners[:1], min(args.seconds, 15))
        print(
            f"one learner alone: p50 {single['p50 s']:.2f} s; p50 under load / alone: "
            f"{load['p50 s'] / single['p50 s']:.1f}x"
        )
        if args.spawn:
            memory = spawn_memory(hub.load() or {}, learners, args.spawn)
            for what, value in memory.items():
                print(f"  {what}: {value:.1f}")
        print(f"disk left: {shutil.disk_usage(root).free / 1024**3:.1f} GiB")
    finally:
        control.down(remove=True, say=lambda _: None)
        manager.down()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
