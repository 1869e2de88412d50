"""The ``dojo`` command. Commands stay thin: each calls into the module that does the work.

Heavy modules are imported inside commands so that ``dojo --help`` stays instant.
"""

from __future__ import annotations

import json

import click

from dbdojo.settings import SERVICES


class _Dojo(click.Group):
    """The command group: failures that are not bugs (a :class:`~dbdojo.errors.DojoError`, a
    server that died mid-command, a full disk) end in one sentence and the command that fixes
    them; anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            from dbdojo.errors import DojoError
            from dbdojo.failures import explain

            if isinstance(exc, DojoError):  # expected: its message says what to do
                raise click.ClickException(str(exc).strip("'\"")) from exc
            sub = ctx.invoked_subcommand or ""
            if message := explain(exc, f"dojo {sub}".strip()):
                raise click.ClickException(message) from exc
            raise  # a bug: keep its traceback


@click.group(cls=_Dojo, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dbdojo")
def main() -> None:
    """dbdojo: a hands-on database course on real PostgreSQL, MongoDB and Redis."""


# --- servers: up, down, status, doctor, logs, env, lab (dbdojo.services) -------------------

_SERVICE = click.Choice(SERVICES)


@main.command()
@click.option(
    "--docker",
    is_flag=True,
    help="Run the servers with docker compose (docker-compose.yml) instead of embedded ones. "
    "Needs Docker; not exercised by the tests on machines without it.",
)
@click.option("--only", "only", multiple=True, type=_SERVICE, help="Start only this service.")
@click.option(
    "--replicas",
    is_flag=True,
    help="Also start a PostgreSQL streaming replica and a Redis replica (lesson X1); the "
    "first time, the PostgreSQL replica is a copy of the whole cluster (pg_basebackup).",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Return only once every server serves requests (the MongoDB emulator listens at "
    "once and serves a few seconds later; clients connecting meanwhile are held, not refused).",
)
def up(docker: bool, only: tuple[str, ...], replicas: bool, wait: bool) -> None:
    """Start the databases (or adopt those already running) and record their URLs.

    A service whose URL you set (DOJO_POSTGRES_URL, DOJO_MONGO_URL, DOJO_REDIS_URL, or .env)
    is not started: your server is used instead.
    """
    from dbdojo.commands import report

    outcomes = report.run_up(only or None, docker=docker, wait=wait)
    ok = report.show_outcomes(outcomes, "up")
    report.start_check_server(outcomes)
    if replicas and ok:
        from dbdojo.services import replicas as topology

        with report.err_console.status("Starting the replicas…"):
            outcomes = topology.up(only or None)
        ok = report.show_outcomes(outcomes, "up")
    if not ok:
        raise SystemExit(1)


@main.command()
@click.option("--only", "only", multiple=True, type=_SERVICE, help="Stop only this service.")
def down(only: tuple[str, ...]) -> None:
    """Stop the servers the kit started (exactly those processes, replicas too); data is kept."""
    from dbdojo.commands import report
    from dbdojo.services import manager, replicas

    report.show_outcomes(replicas.down(only or None) + manager.down(only or None), "down")
    if not only or not manager.any_running():
        report.stop_check_server()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(as_json: bool) -> None:
    """Each database: backend, version, URL (password hidden), healthy, pid; probed now.
    Replicas (`dojo up --replicas`) also show their role and lag."""
    from dbdojo.commands import report
    from dbdojo.services import manager, replicas

    rows = manager.status()
    replica_rows = replicas.status_rows()
    report.show_status(rows + replica_rows, as_json)
    running_replicas = [row for row in replica_rows if row.pid]  # a stopped replica is no fault
    present = [row for row in rows if row.backend != manager.ABSENT]  # no MariaDB: no fault
    if not all(row.healthy for row in present + running_replicas):
        raise SystemExit(1)


@main.command()
def doctor() -> None:
    """Check what the kit needs (binaries, ports, permissions, URLs) and say how to fix it."""
    from dbdojo.commands import doctor as checks
    from dbdojo.commands import report

    if not report.show_checks(checks.run_checks()):
        raise SystemExit(1)


@main.command()
@click.argument("service", type=_SERVICE)
@click.option("-n", "lines", default=40, show_default=True, help="How many last lines.")
@click.option("-f", "follow", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
def logs(service: str, lines: int, follow: bool) -> None:
    """Show the log of a server the kit started."""
    from dbdojo.commands import report
    from dbdojo.services import manager

    report.show_log(manager.log_file(service), lines, follow)


@main.command()
def env() -> None:
    """Print the database URLs as shell exports: eval "$(dojo env)"."""
    from dbdojo.services import manager

    for line in manager.env_lines():
        click.echo(line)


@main.command()
@click.option(
    "--port", default=8888, show_default=True, help="JupyterLab's port (or the next free)."
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
def lab(port: int, no_browser: bool) -> None:
    """Start the databases, load the dataset if needed, copy the labs without solutions into
    work/ (your copies: never overwritten; new exercises are appended), open JupyterLab.

    The first time, the learner versions of the labs are built (about half a minute, 0.8 GB of
    temporary disk) and cached. As root, JupyterLab needs --allow-root: the kit passes it.
    """
    from dbdojo.commands import lab as jupyter

    jupyter.run(port=port, open_browser=not no_browser)


# --- data: seed, reset (dbdojo.dataset) ----------------------------------------------------


@main.command()
@click.option(
    "--scale",
    type=click.Choice(["tiny", "default", "large"]),
    default="default",
    show_default=True,
    help="tiny: tests; default: ~1M order lines; large: performance lessons.",
)
@click.option("--force", is_flag=True, help="Rebuild even if this scale is already seeded.")
@click.option(
    "--seed", "random_seed", type=int, default=None, help="Random seed (same seed, same data)."
)
def seed(scale: str, force: bool, random_seed: int | None) -> None:
    """Generate the dataset and load PostgreSQL, MongoDB and Redis, then reset `main`."""
    from dbdojo.dataset.scales import DEFAULT_SEED
    from dbdojo.dataset.seeding import seed as run_seed

    run_seed(scale, DEFAULT_SEED if random_seed is None else random_seed, force=force)


@main.command()
@click.argument("workspace", required=False)
@click.option("--all", "every", is_flag=True, help="Reset every workspace on the server.")
@click.option(
    "--replicas",
    is_flag=True,
    help="Also rebuild the replicas from the primaries (after a promotion, say); "
    "without WORKSPACE or --all, only the replicas.",
)
def reset(workspace: str | None, every: bool, replicas: bool) -> None:
    """Put WORKSPACE (default: the current one) back to the seeded state in every database
    (MariaDB's copy too, for the main workspace, where a MariaDB/MySQL server is configured)."""
    import time

    from dbdojo.dataset import workspaces as resetting
    from dbdojo.workspace import Workspace, current

    if replicas:
        from dbdojo.services import replicas as topology

        started = time.perf_counter()
        for line in topology.rebuild():
            click.echo(line)
        click.echo(f"replicas rebuilt in {time.perf_counter() - started:.2f} s")
        if not (workspace or every):
            return
    targets = (
        resetting.workspaces() if every else [Workspace(workspace) if workspace else current()]
    )
    for ws in targets:
        started = time.perf_counter()
        resetting.reset(ws, resetting.WITH_MYSQL)
        click.echo(f"reset {ws.name} ({ws.database}) in {time.perf_counter() - started:.2f} s")


@main.command("workspaces")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_workspaces(as_json: bool) -> None:
    """Every workspace: its PostgreSQL size (with its spare copy), MongoDB and Redis presence."""
    from dbdojo.dataset import disk, disk_report

    found = disk.inventory()
    if as_json:
        import json

        click.echo(json.dumps(found.to_dict(), indent=2))
    else:
        disk_report.show(found)


@main.command("drop")
@click.argument("names", metavar="WORKSPACE...", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Allow dropping `main`, your everyday workspace.")
def drop_workspaces(names: tuple[str, ...], force: bool) -> None:
    """Drop workspaces in PostgreSQL (with their spare copies), MongoDB and Redis."""
    from dbdojo.dataset import disk
    from dbdojo.workspace import Workspace

    targets = [Workspace(name) for name in names]  # all names checked before dropping any
    if not force and any(ws.name == "main" for ws in targets):
        disk.drop(Workspace("main"))  # raises the refusal
    for ws in targets:
        dropped = disk.drop(ws, force=force)
        click.echo(f"dropped {ws.name}: {', '.join(dropped) or 'nothing there'}")


# --- exercises: exercises, grade, hint, progress, build (dbdojo.checking) -------------------


def _exercise_errors(func):
    """Show exercise and connection problems as one clear line (exit 2), not a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from dbdojo.checking.model import ExerciseError
        from dbdojo.connect import NotSeeded, ServiceDown

        try:
            return func(*args, **kwargs)
        except (ExerciseError, ServiceDown, NotSeeded) as exc:
            if kwargs.get("as_json"):  # --json promises JSON, also when nothing was graded
                error = {"status": "error", "graded": False, "passed": False, "message": str(exc)}
                click.echo(json.dumps(error, indent=1))
                raise SystemExit(2) from exc
            raise _CannotGrade(str(exc)) from exc

    return wrapper


class _CannotGrade(click.ClickException):
    exit_code = 2


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
@click.option("--solutions", is_flag=True, help="Include reference solutions (instructor source).")
@_exercise_errors
def exercises(as_json: bool, solutions: bool) -> None:
    """List every exercise of the labs (id, lab, kind, title)."""
    from dbdojo.checking.commands import list_exercises

    raise SystemExit(list_exercises(as_json, solutions))


@main.command()
@click.argument("exercise_id", required=False)
@click.option(
    "--answer",
    "answers",
    multiple=True,
    required=True,
    type=click.Path(),
    help="Answer file (text, or a submitted .ipynb); repeat to grade several.",
)
@click.option("--reference", help="Compare with this reference (a file or the text) instead.")
@click.option(
    "--kind",
    type=click.Choice(["sql", "mongo", "redis", "python"]),
    default="sql",
    show_default=True,
    help="With --reference: what the answer is.",
)
@click.option(
    "--ordered/--unordered",
    default=None,
    help="With --reference: does order matter "
    "(default: detected from the reference's ORDER BY / $sort).",
)
@click.option("--collection", help="With --reference --kind mongo: the pipeline's collection.")
@click.option("--json", "as_json", is_flag=True, help="Feedback as JSON.")
@_exercise_errors
def grade(exercise_id, answers, reference, kind, ordered, collection, as_json) -> None:
    """Grade answer files with the notebook's engine: exit 0 when all pass, 1 when not."""
    from dbdojo.checking import commands, discovery

    if bool(exercise_id) == bool(reference):
        raise click.UsageError("give an EXERCISE_ID or --reference REF (one of the two)")
    if reference:
        ex = commands.adhoc_exercise(reference, kind, ordered, collection)
    else:
        ex = discovery.find(exercise_id)
    from pathlib import Path

    raise SystemExit(commands.grade(ex, [Path(a) for a in answers], as_json))


@main.command()
@click.argument("exercise_id")
@_exercise_errors
def hint(exercise_id: str) -> None:
    """Show one more hint for an exercise."""
    from dbdojo.checking.api import hint as show_hint

    show_hint(exercise_id)


@main.command()
@click.argument("lab", required=False)
@_exercise_errors
def progress(lab: str | None) -> None:
    """Your progress (DOJO_LEARNER or the OS user): per lab, or per exercise of LAB (`dojo
    progress p2`): done, attempted, hints used, and the next exercise to do."""
    from dbdojo.checking.commands import show_progress

    show_progress(lab)


@main.group()
def build() -> None:
    """Build course artefacts."""


@build.command("student")
@click.option("--out", type=click.Path(), help="Default: build/student/.")
@_exercise_errors
def build_student(out: str | None) -> None:
    """Write learner versions of every lab: solutions removed, results kept as digests."""
    from pathlib import Path

    from dbdojo.checking.commands import build as run_build

    run_build(Path(out) if out else None)


# --- notebooks: run-notebook (dbdojo.notebook) --------------------------------------------


@main.command("run-notebook")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--workspace",
    "-w",
    default="author",
    show_default=True,
    help="Workspace to run in (reset to the seeded data first).",
)
@click.option("--no-reset", is_flag=True, help="Run on the workspace's data as it is.")
@click.option("--timeout", default=600, show_default=True, help="Seconds allowed per cell.")
def run_notebook(paths: tuple[str, ...], workspace: str, no_reset: bool, timeout: int) -> None:
    """Run notebooks top to bottom and store their outputs (authors: before committing).

    Each runs in a new kernel against WORKSPACE, strictly (a failing cell or query stops it and
    leaves the file unchanged), so the stored outputs are what the tests will compare.
    """
    from pathlib import Path

    from dbdojo.notebook.execute import run_and_store
    from dbdojo.workspace import Workspace

    failed = 0
    for name in paths:
        run, problem = run_and_store(
            Path(name), Workspace(workspace), reset=not no_reset, timeout=timeout
        )
        if run is None:
            failed += 1
            click.echo(f"✘ {name}: not stored, a cell failed:\n{problem}", err=True)
        else:
            click.echo(f"✔ {name}: outputs stored ({run.seconds:.1f} s)")
    if failed:
        raise SystemExit(1)


def _add_classroom() -> None:
    from dbdojo.classroom.cli import classroom

    main.add_command(classroom)


_add_classroom()

if __name__ == "__main__":
    main()
