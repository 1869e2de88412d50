"""The PostgreSQL tables in load order, each column with its binary COPY kind.

Must match ``datasets/postgres/01_schema.sql`` (a test compares them with the live catalog).
"""

from __future__ import annotations

TABLES: dict[str, list[tuple[str, str]]] = {
    "regions": [
        ("region_id", "int4"), ("parent_region_id", "int4"), ("name", "text"),
        ("level", "text"), ("code", "text"), ("timezone", "text"), ("created_at", "ts"),
    ],
    "depots": [
        ("depot_id", "int4"), ("region_id", "int4"), ("name", "text"), ("address", "text"),
        ("lat", "float8"), ("lon", "float8"), ("capacity", "int4"), ("opened_on", "date"),
        ("created_at", "ts"),
    ],
    "employees": [
        ("employee_id", "int4"), ("manager_id", "int4"), ("depot_id", "int4"),
        ("first_name", "text"), ("last_name", "text"), ("email", "text"), ("job_title", "text"),
        ("department", "text"), ("salary", "num2"), ("hired_on", "date"), ("created_at", "ts"),
    ],
    "customers": [
        ("customer_id", "int4"), ("email", "text"), ("first_name", "text"),
        ("last_name", "text"), ("phone", "text"), ("region_id", "int4"), ("city", "text"),
        ("preferences", "json"), ("is_active", "bool"), ("created_at", "ts"),
    ],
    "wallets": [
        ("wallet_id", "int4"), ("customer_id", "int4"), ("balance", "num2"),
        ("currency", "text"), ("updated_at", "ts"),
    ],
    "merchants": [
        ("merchant_id", "int4"), ("name", "text"), ("category", "text"), ("region_id", "int4"),
        ("email", "text"), ("lat", "float8"), ("lon", "float8"), ("is_active", "bool"),
        ("created_at", "ts"),
    ],
    "products": [
        ("product_id", "int4"), ("merchant_id", "int4"), ("sku", "text"), ("name", "text"),
        ("category", "text"), ("price", "num2"), ("attributes", "json"), ("tags", "textarr"),
        ("description", "text"), ("is_active", "bool"), ("created_at", "ts"),
    ],
    "vehicles": [
        ("vehicle_id", "int4"), ("depot_id", "int4"), ("vehicle_type", "text"),
        ("plate", "text"), ("capacity_kg", "int4"), ("created_at", "ts"),
    ],
    "drivers": [
        ("driver_id", "int4"), ("depot_id", "int4"), ("vehicle_id", "int4"),
        ("first_name", "text"), ("last_name", "text"), ("email", "text"), ("phone", "text"),
        ("status", "text"), ("hired_on", "date"), ("created_at", "ts"),
    ],
    "orders": [
        ("order_id", "int8"), ("customer_id", "int4"), ("merchant_id", "int4"),
        ("region_id", "int4"), ("status", "text"), ("payment_method", "text"),
        ("placed_at", "ts"), ("subtotal", "num2"), ("delivery_fee", "num2"), ("tip", "num2"),
        ("total", "num2"), ("delivery_lat", "float8"), ("delivery_lon", "float8"),
        ("notes", "text"),
    ],
    "order_lines": [
        ("order_line_id", "int8"), ("order_id", "int8"), ("line_no", "int2"),
        ("product_id", "int4"), ("quantity", "int4"), ("unit_price", "num2"),
    ],
    "payments": [
        ("payment_id", "int8"), ("order_id", "int8"), ("method", "text"), ("amount", "num2"),
        ("status", "text"), ("paid_at", "ts"),
    ],
    "delivery_jobs": [
        ("delivery_job_id", "int8"), ("order_id", "int8"), ("driver_id", "int4"),
        ("depot_id", "int4"), ("status", "text"), ("created_at", "ts"), ("assigned_at", "ts"),
        ("picked_up_at", "ts"), ("delivered_at", "ts"), ("distance_km", "num2"),
    ],
    "delivery_status_events": [
        ("delivery_status_event_id", "int8"), ("delivery_job_id", "int8"), ("status", "text"),
        ("occurred_at", "ts"), ("note", "text"),
    ],
    "gps_pings": [
        ("gps_ping_id", "int8"), ("driver_id", "int4"), ("delivery_job_id", "int8"),
        ("recorded_at", "ts"), ("lat", "float8"), ("lon", "float8"), ("speed_kmh", "float4"),
    ],
    "ratings": [
        ("rating_id", "int8"), ("order_id", "int8"), ("customer_id", "int4"),
        ("merchant_id", "int4"), ("driver_id", "int4"), ("stars", "int2"), ("comment", "text"),
        ("created_at", "ts"),
    ],
}  # fmt: skip

VECTOR_COLUMN = ("embedding", "vector")  # products, only where pgvector exists
