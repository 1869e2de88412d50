"""Generate the whole dataset: ``generate(scale, seed) -> Dataset`` (deterministic)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from dbdojo.dataset import catalog, deliveries, orders, org, people
from dbdojo.dataset.columns import TABLES, VECTOR_COLUMN
from dbdojo.dataset.pgbinary import encode_rows
from dbdojo.dataset.scales import DEFAULT_SEED, Scale, get_scale

GENERATOR_VERSION = "2"  # bump whenever the generated data changes
Table = dict[str, np.ndarray]


@dataclass
class Dataset:
    """The generated tables (column name -> numpy array, see :mod:`dbdojo.dataset.pgbinary`)."""

    scale: Scale
    seed: int
    tables: dict[str, Table]
    embeddings: np.ndarray  # products.embedding, one row per product
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def rows(self, table: str) -> int:
        return len(next(iter(self.tables[table].values())))

    def columns(self, table: str, vector: bool = False) -> list[tuple[str, str, np.ndarray]]:
        """(name, kind, values) in schema order; with ``vector`` the products embedding too."""
        data = self.tables[table]
        cols = [(name, kind, data[name]) for name, kind in TABLES[table]]
        if vector and table == "products":
            cols.append((*VECTOR_COLUMN, self.embeddings))
        return cols

    def encode(
        self, table: str, start: int = 0, stop: int | None = None, vector: bool = False
    ) -> bytes:
        """Binary COPY rows of ``table[start:stop]``."""
        return encode_rows(
            [(kind, values[start:stop]) for _, kind, values in self.columns(table, vector)]
        )

    def checksum(self) -> str:
        """sha256 over every table's binary COPY rows: equal iff the data is byte-identical."""
        digest = hashlib.sha256()
        for table in TABLES:
            digest.update(table.encode())
            digest.update(self.encode(table, vector=True))
        return digest.hexdigest()


def generate(scale: Scale | str = "tiny", seed: int = DEFAULT_SEED) -> Dataset:
    scale = get_scale(scale) if isinstance(scale, str) else scale
    regions, depots, zones = org.regions_and_depots(seed)
    employees = org.employees(seed, scale, depots, zones)
    customers, wallets, home = people.customers(seed, scale, zones)
    vehicles, drivers, fleet = people.fleet(seed, scale, depots, zones)
    merchants, merchant_aux = catalog.merchants(seed, scale, zones)
    products, product_aux = catalog.products(seed, scale, merchants, merchant_aux)
    order_table, lines, payments, order_aux = orders.orders(
        seed, scale, customers, home, merchants, merchant_aux, products, product_aux, zones
    )
    jobs, job_aux = deliveries.jobs(
        seed, order_table, order_aux, merchants, merchants["category"], drivers, fleet, zones
    )
    events = deliveries.status_events(seed, jobs, job_aux)
    pings = deliveries.gps_pings(
        seed, jobs, job_aux, merchants, order_table, drivers, fleet["speed_kmh"]
    )
    ratings = deliveries.ratings(seed, jobs, job_aux, order_table)
    tables = {
        "regions": regions,
        "depots": depots,
        "employees": employees,
        "customers": customers,
        "wallets": wallets,
        "merchants": merchants,
        "products": products,
        "vehicles": vehicles,
        "drivers": drivers,
        "orders": order_table,
        "order_lines": lines,
        "payments": payments,
        "delivery_jobs": jobs,
        "delivery_status_events": events,
        "gps_pings": pings,
        "ratings": ratings,
    }
    return Dataset(scale, seed, tables, product_aux["embedding"])
