"""The notebook side of the kit: ``%load_ext dbdojo`` and what it sets up.

- :mod:`.extension`: the IPython extension (clients, ``%sql``, banner, magics);
- :mod:`.sqlmagic`: jupysql configured for the current workspace;
- :mod:`.banner`: the one-line description of the three databases;
- :mod:`.errors`: ``dojo.expect_error()`` and ``%%expect_error`` for cells that must fail;
- :mod:`.api`: ``dojo.reset()`` and ``dojo.use_workspace()``;
- :mod:`.execute`: run a notebook top to bottom (``dojo run-notebook``, tests, benchmark).
"""
