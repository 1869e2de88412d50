"""The MongoDB emulator: a process of its own that serves mongoeco over the wire protocol.

- :mod:`.server`: the process (``python -m dbdojo.mongo.emulator.server``): databases in
  memory, saved on shutdown, snapshot restores, crash recovery.
- :mod:`.wire`: the wire listener, bound before mongoeco is imported.
- :mod:`.dialect`: MongoDB 8 forms mongoeco lacks, rewritten into ones it has.
- :mod:`.memstate`: database images (copy, pickle) of mongoeco's memory engine.
- :mod:`.journal`: the write journal replayed after a crash.
- :mod:`.auth`, :mod:`.scram`: users, SCRAM-SHA-256 and authorization (a classroom's
  ``--auth``).
- :mod:`.control`: the kit's side of the control socket (restore, drop, status).
- :mod:`.interpreter`: the Python the unprivileged server user runs it with.

Where mongoeco answers differently from MongoDB 8, the wire layer answers as MongoDB does
(each checked by ``tests/test_mongo_conformance.py`` against MongoDB's documentation):

- :mod:`.txn`: write conflicts between transactions (``WriteConflict``, retried).
- :mod:`.stages`: ``$graphLookup``, ``$out``, ``$geoNear``/``$near`` and ``$text`` finds.
- :mod:`.geo`, :mod:`.text`: spherical distances in metres; stemming and text scores.
- :mod:`.explain`: ``explain()`` in MongoDB's shape; :mod:`.pipeline`: the optimizer's
  ``$match`` moves.
- :mod:`.costs`: O(1) ``_id`` checks on writes (mongoeco scanned the collection).
"""
