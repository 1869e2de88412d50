"""The sandbox's worker confines itself before it runs a handler: as root in a private checkout
(mode 0700, like /root) the sandbox user can no longer read the kit's files then, so every kit
module a handler imports must be loaded before, by ``_preload()``. A CI run found the
concurrent-Python handler's module missing there (`No module named ...pg_concurrent_py`)."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys

from dbdojo.checking.sandbox import child


def _imported_by(function) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(function))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("dbdojo.")}


def test_every_kit_module_a_handler_imports_is_loaded_before_confinement():
    wanted = set().union(*(_imported_by(handler) for handler in child.HANDLERS.values()))
    script = (
        "import json, sys\n"
        "from dbdojo.checking.sandbox import child\n"
        "child._preload()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = set(json.loads(subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout))  # fmt: skip
    # a name imported from a module (a class, a function) is not a module of its own
    missing = sorted(n for n in wanted if n not in loaded and n.rpartition(".")[0] not in loaded)
    assert not missing, f"imported by a sandbox handler after confinement: {missing}"
