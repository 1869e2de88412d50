"""The ``dojo`` command. Commands stay thin: each calls into the module that does the work.

Heavy modules are imported inside commands so that ``dojo --help`` stays instant.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dbdojo")
def main() -> None:
    """dbdojo: a hands-on database course on real PostgreSQL, MongoDB and Redis."""


# --- servers: up, down, status, doctor, logs, env, lab (dbdojo.services) -------------------


# --- data: seed, reset (dbdojo.dataset) ----------------------------------------------------


# --- exercises: exercises, grade, hint, progress, build (dbdojo.checking) -------------------


if __name__ == "__main__":
    main()
