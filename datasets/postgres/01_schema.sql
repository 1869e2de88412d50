-- dbdojo dataset: a last-mile delivery marketplace (PostgreSQL 13+).
-- 01_schema.sql: types and tables with NOT NULL and CHECK constraints.
-- Primary keys, foreign keys and UNIQUE constraints are in 02_constraints.sql, secondary indexes in
-- 03_indexes.sql, comments in 04_comments.sql: they are applied after the bulk load (faster).
-- The optional pgvector column is added by 05_vector.sql where the extension exists.
-- Conventions: snake_case, plural table names, <singular>_id keys, timestamptz everywhere,
-- money as numeric(10,2). Every file is idempotent where PostgreSQL allows it.

-- Trigram similarity (pg_trgm: lesson P4). A contrib module that every PostgreSQL build ships and
-- a trusted extension: installed here, every workspace and edge-case dataset has it, and neither
-- lessons nor checked answers need a superuser to use it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE region_level AS ENUM ('country', 'city', 'zone', 'depot');
CREATE TYPE vehicle_type AS ENUM ('bicycle', 'e_bike', 'scooter', 'car', 'van');
CREATE TYPE driver_status AS ENUM ('active', 'on_leave', 'inactive');
CREATE TYPE order_status AS ENUM (
    'placed', 'accepted', 'preparing', 'in_transit', 'delivered', 'cancelled', 'refunded'
);
CREATE TYPE delivery_status AS ENUM (
    'unassigned', 'assigned', 'picked_up', 'delivered', 'failed', 'cancelled'
);
CREATE TYPE payment_method AS ENUM ('card', 'wallet', 'paypal', 'cash');

-- country > city > zone > depot
CREATE TABLE regions (
    region_id        integer NOT NULL,
    parent_region_id integer,
    name             text         NOT NULL,
    level            region_level NOT NULL,
    code             text         NOT NULL,
    timezone         text         NOT NULL DEFAULT 'Europe/Amsterdam',
    created_at       timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE depots (
    depot_id    integer NOT NULL,
    region_id   integer     NOT NULL,
    name        text        NOT NULL,
    address     text        NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    capacity    integer     NOT NULL CHECK (capacity > 0),
    opened_on   date        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE employees (
    employee_id integer NOT NULL,
    manager_id  integer,
    depot_id    integer,
    first_name  text          NOT NULL,
    last_name   text          NOT NULL,
    email       text          NOT NULL,
    job_title   text          NOT NULL,
    department  text          NOT NULL,
    salary      numeric(10,2) NOT NULL CHECK (salary > 0),
    hired_on    date          NOT NULL,
    created_at  timestamptz   NOT NULL DEFAULT now(),
    CHECK (manager_id IS DISTINCT FROM employee_id)
);

CREATE TABLE customers (
    customer_id integer NOT NULL,
    email       text        NOT NULL,
    first_name  text        NOT NULL,
    last_name   text        NOT NULL,
    phone       text,
    region_id   integer     NOT NULL,
    city        text        NOT NULL,
    preferences jsonb       NOT NULL DEFAULT '{}',
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wallets (
    wallet_id   integer NOT NULL,
    customer_id integer       NOT NULL,
    balance     numeric(10,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    currency    char(3)       NOT NULL DEFAULT 'EUR',
    updated_at  timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE merchants (
    merchant_id integer NOT NULL,
    name        text        NOT NULL,
    category    text        NOT NULL,
    region_id   integer     NOT NULL,
    email       text        NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (category IN ('grocery', 'restaurant', 'pharmacy', 'electronics', 'florist', 'bakery'))
);

CREATE TABLE products (
    product_id  integer NOT NULL,
    merchant_id integer       NOT NULL,
    sku         text          NOT NULL,
    name        text          NOT NULL,
    category    text          NOT NULL,
    price       numeric(10,2) NOT NULL CHECK (price > 0),
    attributes  jsonb         NOT NULL DEFAULT '{}',
    tags        text[]        NOT NULL DEFAULT '{}',
    description text,
    is_active   boolean       NOT NULL DEFAULT true,
    created_at  timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE vehicles (
    vehicle_id   integer NOT NULL,
    depot_id     integer      NOT NULL,
    vehicle_type vehicle_type NOT NULL,
    plate        text,
    capacity_kg  integer      NOT NULL CHECK (capacity_kg > 0),
    created_at   timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE drivers (
    driver_id  integer NOT NULL,
    depot_id   integer       NOT NULL,
    vehicle_id integer,
    first_name text          NOT NULL,
    last_name  text          NOT NULL,
    email      text          NOT NULL,
    phone      text,
    status     driver_status NOT NULL DEFAULT 'active',
    hired_on   date          NOT NULL,
    created_at timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    order_id       bigint NOT NULL,
    customer_id    integer        NOT NULL,
    merchant_id    integer        NOT NULL,
    region_id      integer        NOT NULL,
    status         order_status   NOT NULL,
    payment_method payment_method NOT NULL,
    placed_at      timestamptz    NOT NULL,
    subtotal       numeric(10,2)  NOT NULL CHECK (subtotal >= 0),
    delivery_fee   numeric(10,2)  NOT NULL CHECK (delivery_fee >= 0),
    tip            numeric(10,2)  CHECK (tip >= 0),
    total          numeric(10,2)  NOT NULL,
    delivery_lat   double precision NOT NULL,
    delivery_lon   double precision NOT NULL,
    notes          text,
    CHECK (total = subtotal + delivery_fee + coalesce(tip, 0))
);

CREATE TABLE order_lines (
    order_line_id bigint NOT NULL,
    order_id      bigint        NOT NULL,
    line_no       smallint      NOT NULL CHECK (line_no >= 1),
    product_id    integer       NOT NULL,
    quantity      integer       NOT NULL CHECK (quantity > 0),
    unit_price    numeric(10,2) NOT NULL CHECK (unit_price >= 0)
);

CREATE TABLE payments (
    payment_id bigint NOT NULL,
    order_id   bigint         NOT NULL,
    method     payment_method NOT NULL,
    amount     numeric(10,2)  NOT NULL,
    status     text           NOT NULL CHECK (status IN ('captured', 'refunded', 'failed')),
    paid_at    timestamptz    NOT NULL
);

CREATE TABLE delivery_jobs (
    delivery_job_id bigint NOT NULL,
    order_id        bigint          NOT NULL,
    driver_id       integer,
    depot_id        integer         NOT NULL,
    status          delivery_status NOT NULL,
    created_at      timestamptz     NOT NULL,
    assigned_at     timestamptz,
    picked_up_at    timestamptz,
    delivered_at    timestamptz,
    distance_km     numeric(6,2),
    CHECK (picked_up_at IS NULL OR picked_up_at >= assigned_at),
    CHECK (delivered_at IS NULL OR delivered_at >= picked_up_at)
);

CREATE TABLE delivery_status_events (
    delivery_status_event_id bigint NOT NULL,
    delivery_job_id          bigint          NOT NULL,
    status                   delivery_status NOT NULL,
    occurred_at              timestamptz     NOT NULL,
    note                     text
);

CREATE TABLE gps_pings (
    gps_ping_id bigint NOT NULL,
    driver_id   integer          NOT NULL,
    delivery_job_id bigint,
    recorded_at timestamptz      NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    speed_kmh   real             NOT NULL CHECK (speed_kmh >= 0)
);

CREATE TABLE ratings (
    rating_id   bigint NOT NULL,
    order_id    bigint      NOT NULL,
    customer_id integer     NOT NULL,
    merchant_id integer     NOT NULL,
    driver_id   integer,
    stars       smallint    NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment     text,
    created_at  timestamptz NOT NULL
);

-- What was seeded: key/value rows (scale, seed, checksum, generated_at). Also in the
-- template database's COMMENT ON DATABASE.
CREATE TABLE dataset_info (
    key   text NOT NULL,
    value text NOT NULL
);
