"""The official InfluxDB client (`influxdb-client`, what MANTIS applications write with) against
the test double, on objects made by the collection's modules: the double is held to what the
real client sends and expects. Runs against both profiles (conftest.py)."""

from __future__ import annotations

import pytest
from influxdb_client import InfluxDBClient, Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from tests.support.ansible_runner import run_module

QUERY = (
    'from(bucket: "sensors") |> range(start: -1h) '
    '|> filter(fn: (r) => r._measurement == "sensor_readings" and r.asset_id == "pump-7")'
)


@pytest.fixture
def sensors(influx):
    """Bucket sensors (30 days) and its writer and reader tokens, made by the modules."""
    assert run_module("mantis.datalayer.influx_bucket", influx.connection(name="sensors", retention="30d")).changed
    tokens = {}
    for action in ("write", "read"):
        result = run_module(
            "mantis.datalayer.influx_authorization",
            influx.connection(description="sensors " + action, permissions=[{"action": action, "name": "sensors"}]),
        )
        assert result.changed, result.output
        tokens[action] = result.result["token"]
    return tokens


def client(influx, token):
    return InfluxDBClient(url=influx.url, token=token, org="mantis-org", timeout=10_000)


def test_administration_calls(influx, sensors):
    with client(influx, influx.operator_token) as admin:
        assert admin.ping() and admin.ready().status == "ready"
        assert admin.version() == influx.profile.version  # the X-Influxdb-Version header
        buckets = admin.buckets_api()
        # find_bucket_by_name lists by name without an org filter: 200 across organisations.
        assert buckets.find_bucket_by_name("sensors").retention_rules[0].every_seconds == 30 * 86400
        assert buckets.find_bucket_by_name("missing") is None
        assert "sensors" in [b.name for b in buckets.find_buckets(org="mantis-org").buckets]
        created = buckets.create_bucket(bucket_name="scratch", org="mantis-org")
        assert created.retention_rules[0].shard_group_duration_seconds == 7 * 86400
        values = {a.description: a.token for a in admin.authorizations_api().find_authorizations()}
        assert set(values) == {"admin's Token", "sensors write", "sensors read"}
        if influx.profile.hashed_tokens:
            assert set(values.values()) == {""}  # 2.9: a value only in the response that creates it
        else:
            assert values["sensors write"] == sensors["write"]


def test_writer_writes_and_reader_reads_back(influx, sensors):
    point = (
        Point("sensor_readings")
        .tag("asset_id", "pump-7")
        .tag("sensor_id", "s1")
        .tag("sensor_type", "vibration")
        .field("value", 0.45)
        .field("quality", 1)
        .field("status", "ok, within limits")
    )
    with client(influx, sensors["write"]) as writer:
        writer.write_api(write_options=SYNCHRONOUS).write(bucket="sensors", record=point)
        with pytest.raises(ApiException) as refused:
            writer.query_api().query(QUERY)
        assert refused.value.status == 404  # a bucket the token may not read is not found
    with client(influx, sensors["read"]) as reader:
        tables = reader.query_api().query(QUERY)
        records = {r.get_field(): r for table in tables for r in table.records}
        assert {field: r.get_value() for field, r in records.items()} == {
            "value": 0.45,
            "quality": 1,
            "status": "ok, within limits",
        }
        assert records["value"].values["sensor_type"] == "vibration"
        with pytest.raises(ApiException) as refused:
            reader.write_api(write_options=SYNCHRONOUS).write(bucket="sensors", record=point)
        assert refused.value.status == 403
