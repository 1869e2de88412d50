"""dbdojo: a hands-on database course kit.

In a notebook, ``%load_ext dbdojo`` connects everything (see :mod:`dbdojo.notebook`).
"""

from __future__ import annotations

__version__ = "0.1.0"
