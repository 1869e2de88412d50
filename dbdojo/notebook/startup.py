"""The kernels ``dojo lab`` starts: an IPython directory of the kit's own (``IPYTHONDIR``) with a
startup file, so that after a kernel restart a cell using the kit (``%%check``, ``%sql``,
``pg``, ``db``, ``r``, ``dojo``) loads the extension by itself instead of failing with
``UsageError: Cell magic %%check not found``.

Learner kernels also show ``%sql`` results up to :data:`DISPLAY_LIMIT` rows (jupysql stops at
10). The tests run without this directory, so stored outputs are unchanged.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from dbdojo.paths import state_dir

DISPLAY_LIMIT = 1000
STARTUP_FILE = "00-dbdojo.py"
STARTUP_SOURCE = """\
# Written by `dojo lab` (dbdojo.notebook.startup): after a kernel restart, cells that use the
# kit (%%check, %sql, pg, db, r, dojo) load `%load_ext dbdojo` by themselves.
try:
    from dbdojo.notebook.startup import install
except ImportError:
    pass
else:
    install(get_ipython())
"""
USES_KIT = re.compile(r"%%?(check|sql|expect_error)\b|\b(pg|db|r|dojo)\b")
LOADING = "(dbdojo was not loaded in this kernel, a restart?: loading it, as `%load_ext dbdojo`)"


def ipython_dir() -> Path:
    """The kit's ``IPYTHONDIR`` (in the state directory), with its startup file written."""
    folder = state_dir() / "ipython"
    startup = folder / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    target = startup / STARTUP_FILE
    if not target.exists() or target.read_text() != STARTUP_SOURCE:
        target.write_text(STARTUP_SOURCE)
    return folder


def install(ip: Any) -> None:
    """Run by the startup file in every learner kernel."""
    import dbdojo
    from dbdojo.notebook import sqlmagic

    if ip is None:
        return
    sqlmagic.LEARNER_SETTINGS["displaylimit"] = str(DISPLAY_LIMIT)
    ip.push({"dojo": dbdojo})

    def before_cell(info: Any = None) -> None:
        if "dbdojo" in ip.extension_manager.loaded:
            ip.events.unregister("pre_run_cell", before_cell)
            return
        source = getattr(info, "raw_cell", "") or ""
        if "load_ext dbdojo" in source or not USES_KIT.search(source):
            return
        print(LOADING, file=sys.stderr)
        ip.events.unregister("pre_run_cell", before_cell)
        ip.extension_manager.load_extension("dbdojo")

    ip.events.register("pre_run_cell", before_cell)
