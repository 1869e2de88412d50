"""``dojo classroom ...``: thin commands over :mod:`dbdojo.classroom.control`."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def classroom() -> None:
    """A workshop on this machine: one JupyterHub, one isolated workspace per learner."""


@classroom.command()
@click.option("--roster", "roster_csv", type=click.Path(exists=True, path_type=Path),
              help="CSV with a username column (and optionally name).")  # fmt: skip
@click.option("--learners", "count", type=int, help="Or this many numbered learners.")
@click.option("--ip", default="127.0.0.1", show_default=True, help="Where the hub listens.")
@click.option("--port", default=8000, show_default=True, help="The hub's port.")
@click.option("--shared-user", is_flag=True,
              help="Run learners as this user, one process and home each (automatic when not "
              "root): databases isolated, files not.")  # fmt: skip
@click.option("--data-image/--no-data-image", default=True, show_default=True,
              help="As root, where the disk cannot clone files: learners' PostgreSQL copies as "
              "clones in a sparse XFS image (MBs each, not a full copy).")  # fmt: skip
def up(
    roster_csv: Path | None,
    count: int | None,
    ip: str,
    port: int,
    shared_user: bool,
    data_image: bool,
) -> None:
    """Users, workspaces, homes, the hub and the dashboard (again: the same learners keep
    their passwords and work)."""
    from dbdojo.classroom import control

    learners = control.learners_for(roster_csv, count)
    where = control.up(
        learners, ip, port, say=click.echo, shared_user=shared_user, data_image=data_image
    )
    click.echo(f"Hub: {where['hub']}  ({len(learners)} learners)")
    click.echo(f"Dashboard: {where['dashboard']}")
    click.echo(f"Handout (logins and passwords, print it): {where['handout']}")


@classroom.command()
@click.option("--remove", is_flag=True, help="Also delete learners' users, homes and data.")
def down(remove: bool) -> None:
    """Stop the hub, every learner's server and the dashboard."""
    from dbdojo.classroom import control

    control.down(remove=remove, say=click.echo)


@classroom.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Who is connected, and how far each learner is."""
    from dbdojo.classroom import control
    from dbdojo.dataset.disk import human

    rows = control.status()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        mark = "●" if row["connected"] else "○"
        size = human(row["postgres_bytes"]) + (
            " own (shares the base)" if row["shares_base"] else ""
        )
        click.echo(
            f"{mark} {row['learner']:<16} solved {row['solved']:>3}  PostgreSQL {size:<26} "
            f"{row['last_activity']}"
        )
    online = sum(r["connected"] for r in rows)
    click.echo(f"{online} of {len(rows)} connected")


@classroom.command()
@click.argument("learner")
def reset(learner: str) -> None:
    """Reset one learner's databases to the seeded data (nobody else's)."""
    from dbdojo.classroom import control

    control.reset(learner)
    click.echo(f"{learner}: workspace reset")


@classroom.command()
@click.option("-o", "output", type=click.Path(path_type=Path), help="Write here, not stdout.")
def gradebook(output: Path | None) -> None:
    """The gradebook as CSV: per learner, solved count and each exercise."""
    from dbdojo.checking import discovery
    from dbdojo.classroom import dashboard, layout, roster

    learners = roster.load(layout.roster_file())
    ids = [ex.id for ex in discovery.exercises()]
    text = dashboard.gradebook_csv(dashboard.snapshot(learners, ids))
    if output:
        output.write_text(text)
    else:
        click.echo(text, nl=False)
