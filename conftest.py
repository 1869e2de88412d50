"""Top-level pytest hooks: notebook and lab runs (see tests/notebook_plugin.py)."""

pytest_plugins = ["tests.notebook_plugin", "tests.leftovers"]
