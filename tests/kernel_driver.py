"""A Jupyter kernel driven cell by cell, as a learner drives it: run a cell, interrupt a
running one, read what it showed. For tests that need more than nbclient's top-to-bottom run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel


@dataclass
class CellRun:
    """What one cell did: its reply status and everything it showed."""

    status: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = []
        for out in self.outputs:
            kind, content = out["msg_type"], out["content"]
            if kind == "stream":
                parts.append(content["text"])
            elif kind == "error":
                parts.append("\n".join(content["traceback"]) or content["evalue"])
            elif kind in ("display_data", "execute_result"):
                parts.append(content["data"].get("text/plain", "") + "\n")
        return "".join(parts)

    def mime(self, kind: str) -> str:
        return "".join(
            out["content"].get("data", {}).get(kind, "")
            for out in self.outputs
            if out["msg_type"] in ("display_data", "execute_result")
        )


class Kernel:
    """A python3 kernel started with ``env`` in ``cwd``; a context manager."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.km, self.kc = start_new_kernel(
            startup_timeout=120, kernel_name="python3", env=env, cwd=str(cwd)
        )

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def run(self, code: str, timeout: float = 300) -> CellRun:
        return self.collect(self.kc.execute(code), timeout)

    def run_interrupted(self, code: str, after: float, timeout: float = 120) -> CellRun:
        """Start ``code``, interrupt the kernel ``after`` seconds later (the stop button)."""
        msg_id = self.kc.execute(code)
        time.sleep(after)
        self.km.interrupt_kernel()
        return self.collect(msg_id, timeout)

    def collect(self, msg_id: str, timeout: float) -> CellRun:
        run = CellRun()
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
            if kind in ("stream", "error", "display_data", "execute_result"):
                run.outputs.append({"msg_type": kind, "content": msg["content"]})
        while True:
            reply = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                run.status = reply["content"]["status"]
                return run
