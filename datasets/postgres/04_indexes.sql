-- Secondary indexes the application would have from day one.
-- Deliberately NOT indexed, so that the indexing lessons (P3) can show the difference:
--   orders(placed_at), orders(status), order_lines(product_id) (an unindexed foreign key),
--   lower(customers.email), products(attributes) / products(tags) / full text (GIN),
--   gps_pings(recorded_at) (BRIN), gps_pings(driver_id, recorded_at), ratings(driver_id).
CREATE INDEX IF NOT EXISTS regions_parent_region_id_idx ON regions (parent_region_id);
CREATE INDEX IF NOT EXISTS employees_manager_id_idx ON employees (manager_id);
CREATE INDEX IF NOT EXISTS products_merchant_id_idx ON products (merchant_id);
CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
CREATE INDEX IF NOT EXISTS orders_merchant_id_idx ON orders (merchant_id);
CREATE INDEX IF NOT EXISTS payments_order_id_idx ON payments (order_id);
CREATE INDEX IF NOT EXISTS delivery_jobs_driver_id_idx ON delivery_jobs (driver_id);
CREATE INDEX IF NOT EXISTS delivery_status_events_delivery_job_id_idx
    ON delivery_status_events (delivery_job_id);
