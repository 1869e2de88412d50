"""``dojo workspaces`` as a rich table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from dbdojo.dataset.disk import Inventory, human

_PRESENCE = {True: "[green]yes[/]", False: "[dim]-[/]", None: "[yellow]?[/]"}


def show(found: Inventory, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    table = Table(title="Workspaces", title_justify="left")
    table.add_column("Workspace")
    table.add_column("PostgreSQL with spare", justify="right")
    table.add_column("of which spare", justify="right")
    table.add_column("MongoDB", justify="center")
    table.add_column("Redis", justify="center")
    for u in found.workspaces:
        redis = _PRESENCE[u.redis] + (f" (db {u.redis_db})" if u.redis_db is not None else "")
        size = human(u.total_bytes) if u.total_bytes else "[dim]-[/]"
        if u.shared:
            size += " own, rest shared"
        spare = human(u.spare_bytes) if u.spare_bytes else "[dim]-[/]"
        table.add_row(u.workspace, size, spare, _PRESENCE[u.mongo], redis)
    console.print(table)
    templates = sum(found.template_bytes.values())
    console.print(
        f"Templates (the seeded data): {human(templates)}; everything: "
        f"{human(found.total_bytes)}. Free space with `dojo drop WORKSPACE...`."
    )
    if any(u.shared for u in found.workspaces):
        console.print(
            "[dim]own, rest shared: a clone of its template on a copy-on-write file system; "
            "it takes only the blocks it changed.[/]"
        )
    if found.leftover_bytes or found.leftover_redis_keys:
        parts = [f"{name} ({human(size)})" for name, size in found.leftover_bytes.items()]
        if found.leftover_redis_keys:
            parts.append(f"{found.leftover_redis_keys:,} Redis keys")
        console.print(
            f"[yellow]Left by an interrupted seed:[/] {', '.join(parts)}; the next "
            "`dojo seed` removes them."
        )
    for problem in found.problems:
        console.print(f"[yellow]not counted:[/] {problem}")
