"""MongoDB in the kit, in three parts.

- :mod:`dbdojo.mongo.service` starts and stops the server ``dojo up`` runs: a real ``mongod``
  (:mod:`dbdojo.mongo.mongod`) where one is on PATH, else the emulator.
- :mod:`dbdojo.mongo.emulator`: the emulator, a program that runs in its own process
  (``python -m dbdojo.mongo.emulator.server``) and serves mongoeco over the wire protocol.
- :mod:`dbdojo.mongo.snapshots`: named copies of the seeded data, restored into workspaces,
  on either backend.

:mod:`dbdojo.mongo.gaps` (what the emulator lacks, for notebooks) and :mod:`dbdojo.mongo.probe`
(which measures those gaps) are course helpers. Nothing is imported here: the emulator process
imports only what it runs.
"""
