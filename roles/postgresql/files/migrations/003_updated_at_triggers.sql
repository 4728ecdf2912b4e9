-- MANTIS metadata schema, migration 003: keep updated_at current on every UPDATE.
CREATE FUNCTION mantis_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

DO $$
DECLARE
    table_name text;
BEGIN
    FOREACH table_name IN ARRAY ARRAY[
        'sites', 'production_lines', 'technicians', 'ml_models', 'assets', 'sensors',
        'spare_parts', 'anomalies', 'rul_predictions', 'maintenance_rules', 'work_orders',
        'asset_spare_parts', 'work_order_parts', 'maintenance_history', 'kpi_snapshots'
    ] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION mantis_set_updated_at()',
            table_name || '_set_updated_at', table_name
        );
    END LOOP;
END;
$$;
