"""Classroom mode: one machine serving a workshop (``dojo classroom up``).

Each learner gets a system user with a private home (their lab copies, no solutions, and the
notebooks), a workspace of their own (a PostgreSQL database and role, a Valkey logical database
and ACL user, a MongoDB database and user), and a JupyterLab spawned by JupyterHub as that user (or,
without root, as the instructor in a process and home of its own: :mod:`.mode`). Checks
do not run in the learner's kernel (it holds no credential but the learner's own): ``%%check``
and ``dojo.hint`` are sent to the classroom service, which runs the kit's checker as the
instructor and records every attempt for the live dashboard.

Modules: :mod:`.roster` (who), :mod:`.layout` (where), :mod:`.isolation` (database rights),
:mod:`.mode` (system users or one shared user), :mod:`.provision` (users and homes),
:mod:`.hub` (JupyterHub), :mod:`.hubauth` (the hub's login check), :mod:`.service`
(checks and dashboard over HTTP), :mod:`.workers` (checks in parallel), :mod:`.dashboard`
(the figures), :mod:`.feedback_kinds` (wrong-answer categories), :mod:`.remote` (the kernel
side).
"""
