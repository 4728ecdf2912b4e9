-- MANTIS metadata schema, migration 002: the 15 tables.
--
-- Conventions: UUID primary keys (gen_random_uuid()), a JSONB `metadata` column for
-- site-specific attributes, created_at/updated_at on every table (updated_at is kept
-- by the triggers of migration 003). Enumerations of the seed are CHECK constraints:
--   criticality / severity / priority: critical, high, medium, low
--   asset status: operational, degraded, failed, maintenance
-- Coordinates:
--   assets.location   geometry(Point, 0): factory-floor coordinates in metres from the
--                     site's own origin (a local engineering plane, so SRID 0 = no
--                     earth reference); x/y along the hall axes.
--   sites.location    geometry(Point, 4326): where the plant is on earth (WGS 84 lon/lat).

CREATE TABLE sites (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_code text NOT NULL UNIQUE,
    name text NOT NULL,
    address text,
    timezone text NOT NULL DEFAULT 'UTC',
    location geometry(Point, 4326),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE production_lines (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id uuid NOT NULL REFERENCES sites (id),
    line_code text NOT NULL,
    name text NOT NULL,
    description text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, line_code)
);

CREATE TABLE technicians (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    employee_code text NOT NULL UNIQUE,
    full_name text NOT NULL,
    email text,
    phone text,
    site_id uuid REFERENCES sites (id),
    skills text[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ml_models (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    version text NOT NULL,
    model_type text NOT NULL,
    framework text,
    artifact_uri text,
    metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL DEFAULT 'training'
        CHECK (status IN ('training', 'staging', 'production', 'retired')),
    trained_at timestamptz,
    deployed_at timestamptz,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);

CREATE TABLE assets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_code text NOT NULL UNIQUE,
    name text NOT NULL,
    asset_type text NOT NULL,
    manufacturer text,
    model text,
    serial_number text,
    site_id uuid REFERENCES sites (id),
    production_line_id uuid REFERENCES production_lines (id),
    parent_asset_id uuid REFERENCES assets (id),
    location geometry(Point, 0),
    criticality text NOT NULL DEFAULT 'medium'
        CHECK (criticality IN ('critical', 'high', 'medium', 'low')),
    status text NOT NULL DEFAULT 'operational'
        CHECK (status IN ('operational', 'degraded', 'failed', 'maintenance')),
    installation_date date,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sensors (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_id uuid NOT NULL REFERENCES assets (id),
    sensor_code text NOT NULL UNIQUE,
    sensor_type text NOT NULL,
    unit text,
    sampling_rate_hz double precision CHECK (sampling_rate_hz > 0),
    -- OPC UA, MQTT, Modbus, ...: endpoint, node id / topic / register and their options.
    protocol text,
    protocol_config jsonb NOT NULL DEFAULT '{}'::jsonb,
    warning_threshold double precision,
    critical_threshold double precision,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'faulty')),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spare_parts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    part_number text NOT NULL UNIQUE,
    name text NOT NULL,
    description text,
    supplier text,
    unit_cost numeric(12, 2) CHECK (unit_cost >= 0),
    currency char(3) NOT NULL DEFAULT 'EUR',
    stock_quantity integer NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
    min_stock_level integer NOT NULL DEFAULT 0 CHECK (min_stock_level >= 0),
    lead_time_days integer CHECK (lead_time_days >= 0),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE anomalies (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_id uuid NOT NULL REFERENCES assets (id),
    sensor_id uuid REFERENCES sensors (id),
    model_id uuid REFERENCES ml_models (id),
    detected_at timestamptz NOT NULL,
    severity text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    anomaly_score double precision,
    status text NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'acknowledged', 'investigating', 'resolved', 'false_positive')),
    root_cause text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rul_predictions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_id uuid NOT NULL REFERENCES assets (id),
    model_id uuid REFERENCES ml_models (id),
    model_version text,
    predicted_at timestamptz NOT NULL,
    rul_hours double precision NOT NULL CHECK (rul_hours >= 0),
    confidence_lower_hours double precision CHECK (confidence_lower_hours >= 0),
    confidence_upper_hours double precision,
    confidence_level double precision CHECK (confidence_level > 0 AND confidence_level < 1),
    features jsonb NOT NULL DEFAULT '{}'::jsonb,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (confidence_lower_hours <= confidence_upper_hours)
);

CREATE TABLE maintenance_rules (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    description text,
    -- A rule applies to one asset or to every asset of a type.
    asset_id uuid REFERENCES assets (id),
    asset_type text,
    rule_type text NOT NULL CHECK (rule_type IN ('condition_based', 'time_based', 'usage_based')),
    -- condition_based: thresholds/expressions on sensor features; usage_based: counters.
    condition jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- time_based: how often.
    schedule_interval interval,
    priority text NOT NULL DEFAULT 'medium' CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    enabled boolean NOT NULL DEFAULT true,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (rule_type <> 'time_based' OR schedule_interval IS NOT NULL)
);

CREATE TABLE work_orders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    work_order_number text NOT NULL UNIQUE,
    asset_id uuid NOT NULL REFERENCES assets (id),
    anomaly_id uuid REFERENCES anomalies (id),
    maintenance_rule_id uuid REFERENCES maintenance_rules (id),
    assigned_technician_id uuid REFERENCES technicians (id),
    title text NOT NULL,
    description text,
    work_type text NOT NULL DEFAULT 'corrective'
        CHECK (work_type IN ('preventive', 'corrective', 'predictive', 'inspection')),
    priority text NOT NULL DEFAULT 'medium' CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'scheduled', 'in_progress', 'on_hold', 'completed', 'cancelled')),
    scheduled_start timestamptz,
    scheduled_end timestamptz,
    actual_start timestamptz,
    actual_end timestamptz,
    labor_cost numeric(12, 2) CHECK (labor_cost >= 0),
    parts_cost numeric(12, 2) CHECK (parts_cost >= 0),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (scheduled_end IS NULL OR scheduled_start IS NULL OR scheduled_end >= scheduled_start),
    CHECK (actual_end IS NULL OR actual_start IS NULL OR actual_end >= actual_start)
);

CREATE TABLE asset_spare_parts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_id uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    spare_part_id uuid NOT NULL REFERENCES spare_parts (id) ON DELETE CASCADE,
    quantity_required integer NOT NULL DEFAULT 1 CHECK (quantity_required > 0),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (asset_id, spare_part_id)
);

CREATE TABLE work_order_parts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    work_order_id uuid NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    spare_part_id uuid NOT NULL REFERENCES spare_parts (id),
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_cost numeric(12, 2) CHECK (unit_cost >= 0),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE maintenance_history (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_id uuid NOT NULL REFERENCES assets (id),
    work_order_id uuid REFERENCES work_orders (id),
    technician_id uuid REFERENCES technicians (id),
    event_type text NOT NULL,
    description text,
    performed_at timestamptz NOT NULL,
    downtime_minutes integer CHECK (downtime_minutes >= 0),
    cost numeric(12, 2) CHECK (cost >= 0),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kpi_snapshots (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- A snapshot covers one asset, one site, or (both NULL) the whole plant.
    asset_id uuid REFERENCES assets (id),
    site_id uuid REFERENCES sites (id),
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    mtbf_hours double precision CHECK (mtbf_hours >= 0),
    mttr_hours double precision CHECK (mttr_hours >= 0),
    availability double precision CHECK (availability BETWEEN 0 AND 1),
    oee double precision CHECK (oee BETWEEN 0 AND 1),
    planned_maintenance_ratio double precision CHECK (planned_maintenance_ratio BETWEEN 0 AND 1),
    metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end > period_start)
);
