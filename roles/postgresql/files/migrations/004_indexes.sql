-- MANTIS metadata schema, migration 004: indexes on the columns queried most.
-- Foreign keys (PostgreSQL does not index the referencing side by itself), the status
-- and time columns dashboards filter on, JSONB metadata and asset locations.
CREATE INDEX production_lines_site_idx ON production_lines (site_id);
CREATE INDEX technicians_site_idx ON technicians (site_id);

CREATE INDEX assets_site_idx ON assets (site_id);
CREATE INDEX assets_production_line_idx ON assets (production_line_id);
CREATE INDEX assets_parent_idx ON assets (parent_asset_id);
CREATE INDEX assets_status_criticality_idx ON assets (status, criticality);
CREATE INDEX assets_type_idx ON assets (asset_type);
CREATE INDEX assets_location_idx ON assets USING gist (location);
CREATE INDEX assets_metadata_idx ON assets USING gin (metadata jsonb_path_ops);

CREATE INDEX sensors_asset_idx ON sensors (asset_id);
CREATE INDEX sensors_type_idx ON sensors (sensor_type);

CREATE INDEX spare_parts_low_stock_idx ON spare_parts (stock_quantity) WHERE stock_quantity <= min_stock_level;

CREATE INDEX anomalies_asset_detected_idx ON anomalies (asset_id, detected_at DESC);
CREATE INDEX anomalies_sensor_idx ON anomalies (sensor_id);
CREATE INDEX anomalies_open_idx ON anomalies (severity, detected_at DESC)
    WHERE status IN ('new', 'acknowledged', 'investigating');

CREATE INDEX rul_predictions_asset_predicted_idx ON rul_predictions (asset_id, predicted_at DESC);
CREATE INDEX rul_predictions_model_idx ON rul_predictions (model_id);

CREATE INDEX maintenance_rules_asset_idx ON maintenance_rules (asset_id);
CREATE INDEX maintenance_rules_enabled_idx ON maintenance_rules (rule_type) WHERE enabled;

CREATE INDEX work_orders_asset_idx ON work_orders (asset_id);
CREATE INDEX work_orders_status_priority_idx ON work_orders (status, priority);
CREATE INDEX work_orders_technician_idx ON work_orders (assigned_technician_id);
CREATE INDEX work_orders_anomaly_idx ON work_orders (anomaly_id);
CREATE INDEX work_orders_scheduled_idx ON work_orders (scheduled_start);

CREATE INDEX asset_spare_parts_part_idx ON asset_spare_parts (spare_part_id);
CREATE INDEX work_order_parts_work_order_idx ON work_order_parts (work_order_id);
CREATE INDEX work_order_parts_part_idx ON work_order_parts (spare_part_id);

CREATE INDEX maintenance_history_asset_performed_idx ON maintenance_history (asset_id, performed_at DESC);
CREATE INDEX maintenance_history_work_order_idx ON maintenance_history (work_order_id);

CREATE INDEX kpi_snapshots_asset_period_idx ON kpi_snapshots (asset_id, period_start DESC);
CREATE INDEX kpi_snapshots_site_period_idx ON kpi_snapshots (site_id, period_start DESC);
