"""The dataset in a real PostgreSQL: schema, counts, integrity, recorded scale, exact resets."""

from __future__ import annotations

import pytest

from dbdojo.connect import pg_server
from dbdojo.dataset import pg
from dbdojo.dataset.columns import TABLES
from dbdojo.dataset.generate import GENERATOR_VERSION, generate
from dbdojo.dataset.scales import DEFAULT_SEED
from dbdojo.dataset.workspaces import reset
from dbdojo.paths import datasets_dir
from dbdojo.workspace import Workspace
from tests.helpers import pg_checksum


def test_seed_records_what_it_loaded(seeded_tiny):
    assert seeded_tiny["scale"] == "tiny"
    assert seeded_tiny["seed"] == str(DEFAULT_SEED)
    assert seeded_tiny["generator_version"] == GENERATOR_VERSION
    assert seeded_tiny["checksum"] == generate("tiny").checksum()
    with pg_server(pg.template_name()) as conn:
        info = dict(conn.execute("SELECT key, value FROM dataset_info").fetchall())
    assert info == seeded_tiny


def test_columns_match_the_generator(seeded_tiny, scratch):
    with pg_server(scratch.database) as conn:
        for table, columns in TABLES.items():
            rows = conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s AND column_name <> 'embedding' ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            assert [r[0] for r in rows] == [c for c, _ in columns], table


def test_row_counts_equal_the_generated_rows(seeded_tiny, scratch):
    data = generate("tiny")
    with pg_server(scratch.database) as conn:
        for table in TABLES:
            [(count,)] = conn.execute(f"SELECT count(*) FROM {table}").fetchall()
            assert count == data.rows(table), table


def test_constraints_are_in_place_and_validated(seeded_tiny, scratch):
    with pg_server(scratch.database) as conn:
        kinds = dict(
            conn.execute(
                "SELECT contype, count(*) FROM pg_constraint c JOIN pg_namespace n "
                "ON n.oid = c.connamespace WHERE n.nspname = 'public' AND convalidated "
                "GROUP BY contype"
            ).fetchall()
        )
        assert kinds["p"] == len(TABLES) + 1  # + dataset_info
        constraints_sql = (datasets_dir() / "postgres" / "03_constraints.sql").read_text()
        assert kinds["f"] == constraints_sql.count("FOREIGN KEY")
        assert kinds["u"] == constraints_sql.count(" UNIQUE (")
        [(bad,)] = conn.execute(
            "SELECT count(*) FROM orders o WHERE subtotal <> "
            "(SELECT sum(quantity * unit_price) FROM order_lines l WHERE l.order_id = o.order_id)"
        ).fetchall()
        assert bad == 0
        [(comment,)] = conn.execute("SELECT obj_description('orders'::regclass)").fetchall()
        assert comment and "order" in comment


def test_prices_are_exact_numerics(seeded_tiny, scratch):
    data = generate("tiny")
    with pg_server(scratch.database) as conn:
        [(total,)] = conn.execute("SELECT sum(total) FROM orders").fetchall()
    assert int(total * 100) == int(data.tables["orders"]["total"].sum())


def test_reset_restores_exactly(scratch):
    with pg_server(scratch.database) as conn:
        before = pg_checksum(conn)
        conn.execute("DELETE FROM orders WHERE order_id % 3 = 0")
        conn.execute("UPDATE products SET price = price * 2")
        conn.execute("DROP TABLE ratings")
    reset(scratch, services=("postgres",))
    with pg_server(scratch.database) as conn:
        assert pg_checksum(conn) == before


def test_reset_swaps_in_a_spare_copy_and_stays_exact(scratch):
    from dbdojo.dataset.spare import prepare

    with pg_server(scratch.database) as conn:
        before = pg_checksum(conn)
    prepare(pg.template_name(), scratch.database)  # what the background job does
    with pg.admin() as conn:
        assert pg.exists(conn, pg.spare_name(scratch.database))
    with pg_server(scratch.database) as conn:
        conn.execute("TRUNCATE order_lines")
    with pg.admin() as conn:
        assert pg.reset_database(conn, pg.template_name(), scratch.database) is True
    with pg_server(scratch.database) as conn:
        assert pg_checksum(conn) == before
    prepare(pg.template_name(), scratch.database)  # drops the replaced copy, makes a new spare
    with pg.admin() as conn:  # a spare of an older template is not used
        conn.execute(f"COMMENT ON DATABASE {pg.spare_name(scratch.database)} IS 'stale'")
        assert pg.reset_database(conn, pg.template_name(), scratch.database) is False


def test_a_second_spare_job_keeps_the_current_spare(scratch):
    """Two resets in a row start two jobs; the second must not drop the spare the first made
    (a reset in between may be renaming it)."""
    from dbdojo.dataset.spare import prepare

    def spare_oid() -> int:
        with pg.admin() as conn:
            return conn.execute(
                "SELECT oid FROM pg_database WHERE datname = %s",
                (pg.spare_name(scratch.database),),
            ).fetchone()[0]

    prepare(pg.template_name(), scratch.database)
    first = spare_oid()
    prepare(pg.template_name(), scratch.database)
    assert spare_oid() == first


def test_reset_of_an_unseeded_server_says_what_to_do(seeded_tiny):
    from dbdojo.connect import NotSeeded

    with pytest.raises(NotSeeded, match="dojo seed"):
        reset(Workspace("edge_nonexistent"), services=("postgres",))
