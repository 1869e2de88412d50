-- Documentation inside the database (`\d+ table` in psql, pg_description). Lesson P1.

COMMENT ON TABLE regions IS 'Region hierarchy: country > city > zone > depot, linked by parent_region_id.';
COMMENT ON COLUMN regions.parent_region_id IS 'The enclosing region; NULL only for the country.';
COMMENT ON COLUMN regions.level IS 'country, city, zone or depot.';
COMMENT ON COLUMN regions.code IS 'Stable business key, e.g. NL, NL-AMS, NL-AMS-NOORD.';
COMMENT ON COLUMN regions.timezone IS 'IANA time zone of the region (all Europe/Amsterdam).';

COMMENT ON TABLE depots IS 'Hubs where drivers start their shifts; one per depot-level region.';
COMMENT ON COLUMN depots.region_id IS 'The depot-level region this depot is (1:1).';
COMMENT ON COLUMN depots.capacity IS 'Parcels the depot can hold at once.';

COMMENT ON TABLE employees IS 'Office and depot staff; manager_id forms an org tree 5 levels deep.';
COMMENT ON COLUMN employees.manager_id IS 'Direct manager; NULL only for the chief executive.';
COMMENT ON COLUMN employees.depot_id IS 'Depot the employee works at; NULL for head-office staff.';

COMMENT ON TABLE customers IS 'People who order. created_at is the sign-up time.';
COMMENT ON COLUMN customers.email IS 'As typed at sign-up: mixed case. Unique exactly and also case-insensitively.';
COMMENT ON COLUMN customers.phone IS 'NULL when the customer gave none (about 1 in 5).';
COMMENT ON COLUMN customers.region_id IS 'Home zone (a zone-level region).';
COMMENT ON COLUMN customers.city IS 'Home city name (denormalized from the region tree).';
COMMENT ON COLUMN customers.preferences IS 'Settings as JSON: language, newsletter, dietary list, notify channels.';

COMMENT ON TABLE wallets IS 'Prepaid balance per customer; the balance may never go negative (CHECK).';

COMMENT ON TABLE merchants IS 'Shops and restaurants that sell through the marketplace.';
COMMENT ON COLUMN merchants.category IS 'grocery, restaurant, pharmacy, electronics, florist or bakery.';

COMMENT ON TABLE products IS 'What merchants sell. Attributes depend on the category (polymorphic JSONB).';
COMMENT ON COLUMN products.sku IS 'Business key: category prefix and number, e.g. GRO-000042.';
COMMENT ON COLUMN products.category IS 'Same values as merchants.category.';
COMMENT ON COLUMN products.price IS 'Current list price in EUR.';
COMMENT ON COLUMN products.attributes IS 'Category-specific keys, e.g. {"organic": true, "weight_g": 500} for grocery.';
COMMENT ON COLUMN products.tags IS 'Free tags for filtering, e.g. {vegan,bestseller}.';
COMMENT ON COLUMN products.description IS 'Marketing text (English) for full-text search; NULL for a few products.';

COMMENT ON TABLE vehicles IS 'Bicycles, e-bikes, scooters, cars and vans kept at depots.';
COMMENT ON COLUMN vehicles.plate IS 'Licence plate; NULL for bicycles and e-bikes.';
COMMENT ON COLUMN vehicles.capacity_kg IS 'Maximum load.';

COMMENT ON TABLE drivers IS 'Couriers. Each has at most one vehicle assigned.';
COMMENT ON COLUMN drivers.vehicle_id IS 'Assigned vehicle; NULL when none is assigned.';

COMMENT ON TABLE orders IS 'One order from one customer at one merchant. Totals in EUR.';
COMMENT ON COLUMN orders.region_id IS 'Delivery zone (a zone-level region).';
COMMENT ON COLUMN orders.placed_at IS 'When the customer placed the order (peaks at lunch and dinner, weekends busier).';
COMMENT ON COLUMN orders.subtotal IS 'Sum of quantity * unit_price over the order lines.';
COMMENT ON COLUMN orders.tip IS 'Tip for the driver; NULL when the customer did not tip.';
COMMENT ON COLUMN orders.total IS 'subtotal + delivery_fee + tip (CHECK).';
COMMENT ON COLUMN orders.notes IS 'Free-text delivery instructions; mostly NULL.';

COMMENT ON TABLE order_lines IS 'The products of an order, numbered 1..n per order.';
COMMENT ON COLUMN order_lines.unit_price IS 'Price charged per unit (the list price at the time, sometimes discounted).';

COMMENT ON TABLE payments IS 'Payment attempts and refunds; a refunded order has a second, negative row.';

COMMENT ON TABLE delivery_jobs IS 'The delivery of one order. Timestamps stay NULL until the step happens.';
COMMENT ON COLUMN delivery_jobs.driver_id IS 'NULL while unassigned (and for orders cancelled before dispatch).';
COMMENT ON COLUMN delivery_jobs.distance_km IS 'Route length from the merchant to the customer.';

COMMENT ON TABLE delivery_status_events IS 'Status history of each delivery job (append-only).';

COMMENT ON TABLE gps_pings IS 'Driver positions every ~90 s while on a delivery; inserted in time order (BRIN-friendly).';
COMMENT ON COLUMN gps_pings.delivery_job_id IS 'The job being driven; NULL when returning to the depot.';
COMMENT ON COLUMN gps_pings.speed_kmh IS 'Instant speed.';

COMMENT ON TABLE ratings IS 'At most one rating per delivered order; comment is often NULL.';
COMMENT ON COLUMN ratings.stars IS '1 to 5 (skewed towards 5).';
COMMENT ON COLUMN ratings.comment IS 'Review text in English for full-text search; NULL for most ratings.';

COMMENT ON TABLE dataset_info IS 'What dbdojo seeded here: scale, seed, checksum, generator version.';
