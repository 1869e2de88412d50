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


BLOCKED_AFTER_PRELOAD = """
import importlib.abc, json, sys
from dbdojo.checking import discovery
from dbdojo.checking.sandbox import child

pipeline, function = discovery.find("intro.orders-by-payment"), discovery.find("intro.cents")
child._preload()
loaded = set(sys.modules)


class Confined(importlib.abc.MetaPathFinder):
    # what a private checkout does to the kit's modules once the worker is confined
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "dbdojo" and name not in loaded:
            raise ImportError(f"{name} is imported after confinement")


sys.meta_path.insert(0, Confined())
print(json.dumps([
    child._mongo({"source": pipeline.reference, "options": pipeline.options, "timeout": 30,
                  "targets": [sys.argv[1]]}),
    child._python({"source": function.reference, "options": function.options, "timeout": 30}),
], default=str))
"""


def test_the_handlers_import_no_kit_module_after_preload(seeded_tiny):
    """The handlers' clients, run to the end on the test servers, with every kit module not
    loaded by ``_preload()`` made unimportable: lazy imports below the handlers count too (a CI
    run lost every MongoDB answer to one in ``connect.mongo_client``)."""
    from dbdojo.workspace import current

    done = subprocess.run(
        [sys.executable, "-c", BLOCKED_AFTER_PRELOAD, current().name],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    mongo, python = json.loads(done.stdout)
    [target] = mongo["targets"].values()
    assert "result" in target, target
    assert "result" in python, python
