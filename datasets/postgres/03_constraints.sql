-- Primary keys, unique constraints and foreign keys, added after the bulk load.
-- ON DELETE actions are chosen per relationship (lesson P1 walks through each of them).

ALTER TABLE regions                ADD PRIMARY KEY (region_id);
ALTER TABLE depots                 ADD PRIMARY KEY (depot_id);
ALTER TABLE employees              ADD PRIMARY KEY (employee_id);
ALTER TABLE customers              ADD PRIMARY KEY (customer_id);
ALTER TABLE wallets                ADD PRIMARY KEY (wallet_id);
ALTER TABLE merchants              ADD PRIMARY KEY (merchant_id);
ALTER TABLE products               ADD PRIMARY KEY (product_id);
ALTER TABLE vehicles               ADD PRIMARY KEY (vehicle_id);
ALTER TABLE drivers                ADD PRIMARY KEY (driver_id);
ALTER TABLE orders                 ADD PRIMARY KEY (order_id);
ALTER TABLE order_lines            ADD PRIMARY KEY (order_line_id);
ALTER TABLE payments               ADD PRIMARY KEY (payment_id);
ALTER TABLE delivery_jobs          ADD PRIMARY KEY (delivery_job_id);
ALTER TABLE delivery_status_events ADD PRIMARY KEY (delivery_status_event_id);
ALTER TABLE gps_pings              ADD PRIMARY KEY (gps_ping_id);
ALTER TABLE ratings                ADD PRIMARY KEY (rating_id);
ALTER TABLE dataset_info           ADD PRIMARY KEY (key);

ALTER TABLE regions       ADD CONSTRAINT regions_code_key UNIQUE (code);
ALTER TABLE depots        ADD CONSTRAINT depots_region_id_key UNIQUE (region_id);
ALTER TABLE employees     ADD CONSTRAINT employees_email_key UNIQUE (email);
ALTER TABLE customers     ADD CONSTRAINT customers_email_key UNIQUE (email);
ALTER TABLE wallets       ADD CONSTRAINT wallets_customer_id_key UNIQUE (customer_id);
ALTER TABLE products      ADD CONSTRAINT products_sku_key UNIQUE (sku);
ALTER TABLE vehicles      ADD CONSTRAINT vehicles_plate_key UNIQUE (plate);
ALTER TABLE drivers       ADD CONSTRAINT drivers_email_key UNIQUE (email);
ALTER TABLE drivers       ADD CONSTRAINT drivers_vehicle_id_key UNIQUE (vehicle_id);
ALTER TABLE order_lines   ADD CONSTRAINT order_lines_order_id_line_no_key UNIQUE (order_id, line_no);
ALTER TABLE delivery_jobs ADD CONSTRAINT delivery_jobs_order_id_key UNIQUE (order_id);
ALTER TABLE ratings       ADD CONSTRAINT ratings_order_id_key UNIQUE (order_id);

ALTER TABLE regions ADD CONSTRAINT regions_parent_region_id_fkey
    FOREIGN KEY (parent_region_id) REFERENCES regions ON DELETE RESTRICT;
ALTER TABLE depots ADD CONSTRAINT depots_region_id_fkey
    FOREIGN KEY (region_id) REFERENCES regions ON DELETE RESTRICT;
ALTER TABLE employees ADD CONSTRAINT employees_manager_id_fkey
    FOREIGN KEY (manager_id) REFERENCES employees ON DELETE SET NULL;
ALTER TABLE employees ADD CONSTRAINT employees_depot_id_fkey
    FOREIGN KEY (depot_id) REFERENCES depots ON DELETE SET NULL;
ALTER TABLE customers ADD CONSTRAINT customers_region_id_fkey
    FOREIGN KEY (region_id) REFERENCES regions;
ALTER TABLE wallets ADD CONSTRAINT wallets_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers ON DELETE CASCADE;
ALTER TABLE merchants ADD CONSTRAINT merchants_region_id_fkey
    FOREIGN KEY (region_id) REFERENCES regions;
ALTER TABLE products ADD CONSTRAINT products_merchant_id_fkey
    FOREIGN KEY (merchant_id) REFERENCES merchants ON DELETE CASCADE;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_depot_id_fkey
    FOREIGN KEY (depot_id) REFERENCES depots;
ALTER TABLE drivers ADD CONSTRAINT drivers_depot_id_fkey
    FOREIGN KEY (depot_id) REFERENCES depots;
ALTER TABLE drivers ADD CONSTRAINT drivers_vehicle_id_fkey
    FOREIGN KEY (vehicle_id) REFERENCES vehicles ON DELETE SET NULL;
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers ON DELETE RESTRICT;
ALTER TABLE orders ADD CONSTRAINT orders_merchant_id_fkey
    FOREIGN KEY (merchant_id) REFERENCES merchants ON DELETE RESTRICT;
ALTER TABLE orders ADD CONSTRAINT orders_region_id_fkey
    FOREIGN KEY (region_id) REFERENCES regions;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders ON DELETE CASCADE;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products ON DELETE RESTRICT;
ALTER TABLE payments ADD CONSTRAINT payments_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders ON DELETE CASCADE;
ALTER TABLE delivery_jobs ADD CONSTRAINT delivery_jobs_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders ON DELETE CASCADE;
ALTER TABLE delivery_jobs ADD CONSTRAINT delivery_jobs_driver_id_fkey
    FOREIGN KEY (driver_id) REFERENCES drivers ON DELETE SET NULL;
ALTER TABLE delivery_jobs ADD CONSTRAINT delivery_jobs_depot_id_fkey
    FOREIGN KEY (depot_id) REFERENCES depots;
ALTER TABLE delivery_status_events ADD CONSTRAINT delivery_status_events_delivery_job_id_fkey
    FOREIGN KEY (delivery_job_id) REFERENCES delivery_jobs ON DELETE CASCADE;
ALTER TABLE gps_pings ADD CONSTRAINT gps_pings_driver_id_fkey
    FOREIGN KEY (driver_id) REFERENCES drivers ON DELETE CASCADE;
ALTER TABLE gps_pings ADD CONSTRAINT gps_pings_delivery_job_id_fkey
    FOREIGN KEY (delivery_job_id) REFERENCES delivery_jobs ON DELETE SET NULL;
ALTER TABLE ratings ADD CONSTRAINT ratings_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders ON DELETE CASCADE;
ALTER TABLE ratings ADD CONSTRAINT ratings_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers ON DELETE CASCADE;
ALTER TABLE ratings ADD CONSTRAINT ratings_merchant_id_fkey
    FOREIGN KEY (merchant_id) REFERENCES merchants ON DELETE CASCADE;
ALTER TABLE ratings ADD CONSTRAINT ratings_driver_id_fkey
    FOREIGN KEY (driver_id) REFERENCES drivers ON DELETE SET NULL;
