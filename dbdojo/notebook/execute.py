"""Run a notebook top to bottom in a fresh kernel (nbclient), optionally storing its outputs.

Used by ``dojo run-notebook`` (authors store outputs before committing), by the tests that run
student builds, and by the benchmark (per-cell timings).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from dbdojo import settings
from dbdojo.workspace import Workspace

CHECK_MAGIC = "%%check"


@dataclass
class Run:
    """One execution of a notebook."""

    path: Path
    notebook: Any
    seconds: float
    cell_seconds: list[float] = field(default_factory=list)

    def outputs_text(self, index: int) -> str:
        """All text a cell printed or displayed."""
        return output_text(self.notebook.cells[index])


def output_text(cell: Any) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _seconds(cell: Any) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def execute(
    path: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: int = 600,
    timing: bool = False,
) -> Run:
    """Execute ``path`` in a new kernel started with ``env`` (default: this environment),
    in the notebook's own directory. Raises CellExecutionError on the first failing cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=timing,
    )
    started = time.perf_counter()
    client.execute(env=dict(os.environ if env is None else env))
    seconds = time.perf_counter() - started
    cells = [_seconds(c) for c in nb.cells if c.cell_type == "code"] if timing else []
    return Run(path, nb, seconds, cells)


def run_and_store(
    path: Path, ws: Workspace, *, reset: bool = True, timeout: int = 600
) -> tuple[Run | None, str]:
    """Reset ``ws``, run ``path`` strictly against it and write the outputs into the file.

    Returns the run and "" on success, or None and what failed (the file is left unchanged).
    """
    if reset:
        from dbdojo.dataset import reset as reset_workspace

        reset_workspace(ws)
    env = {**os.environ, settings.WORKSPACE_ENV: ws.name, settings.STRICT_ENV: "1"}
    try:
        run = execute(path, env=env, timeout=timeout)
    except CellExecutionError as exc:
        return None, str(exc)
    nbformat.write(run.notebook, path)
    return run, ""
