"""The MongoDB emulator: a process of its own that serves mongoeco over the wire protocol.

- :mod:`.server`: the process (``python -m dbdojo.mongo.emulator.server``): databases in
  memory, saved on shutdown, snapshot restores, crash recovery.
- :mod:`.wire`: the wire listener, bound before mongoeco is imported.
- :mod:`.dialect`: MongoDB 8 forms mongoeco lacks, rewritten into ones it has.
- :mod:`.memstate`: database images (copy, pickle) of mongoeco's memory engine.
- :mod:`.journal`: the write journal replayed after a crash.
- :mod:`.control`: the kit's side of the control socket (restore, drop, status).
- :mod:`.interpreter`: the Python the unprivileged server user runs it with.
"""
