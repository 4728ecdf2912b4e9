"""redis_config against Debian's real redis-server under systemd in a test host."""

from __future__ import annotations

import time

import pytest
import redis

from tests.support.ansible_runner import run_module


@pytest.fixture
def client(redis_server):
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    # Each test starts from the package's defaults for what it touches.
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_rewrite()
    yield client
    client.close()


def wait_until_answering(client, attempts=50):
    for _attempt in range(attempts):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("Redis did not answer after the restart")


def config(redis_server, settings, check=False, diff=False, **extra):
    args = {"login_port": redis_server.port, "settings": settings, **extra}
    return run_module("mantis.datalayer.redis_config", args, check=check, diff=diff)


def persisted(redis_server, name):
    return redis_server.host.sh(f"grep -E '^{name} ' /etc/redis/redis.conf || true").strip()


def test_check_mode_reports_the_change_and_touches_nothing(redis_server, client):
    run = config(redis_server, {"maxmemory": "64mb"}, check=True, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert run.result["commands"] == ["CONFIG SET maxmemory 67108864", "CONFIG REWRITE"]
    assert run.result["diff"]["before"] == {"maxmemory": "0"}
    assert run.result["diff"]["after"] == {"maxmemory": "67108864"}
    assert client.config_get("maxmemory") == {"maxmemory": "0"}
    assert persisted(redis_server, "maxmemory") == "maxmemory 0" or persisted(redis_server, "maxmemory") == ""


def test_changes_apply_live_persist_and_survive_a_restart(redis_server, client):
    settings = {"maxmemory": "64mb", "maxmemory-policy": "volatile-lru", "appendonly": True}
    run = config(redis_server, settings, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert run.result["changed_settings"]["maxmemory"] == {"before": "0", "after": "67108864"}
    assert client.config_get("maxmemory") == {"maxmemory": "67108864"}
    assert persisted(redis_server, "maxmemory") == "maxmemory 64mb"
    assert persisted(redis_server, "maxmemory-policy") == "maxmemory-policy volatile-lru"

    again = config(redis_server, settings)
    assert not again.failed, again.output
    assert not again.changed
    assert again.result["commands"] == []

    redis_server.host.sh("systemctl restart redis-server")
    restarted = redis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    wait_until_answering(restarted)
    assert restarted.config_get("maxmemory")["maxmemory"] == "67108864"
    assert restarted.config_get("maxmemory-policy")["maxmemory-policy"] == "volatile-lru"


def test_setting_without_persist_is_not_written(redis_server, client):
    run = config(redis_server, {"maxmemory": "32mb"}, persist=False)
    assert not run.failed, run.output
    assert run.result["commands"] == ["CONFIG SET maxmemory 33554432"]
    assert client.config_get("maxmemory") == {"maxmemory": "33554432"}
    assert persisted(redis_server, "maxmemory") in ("maxmemory 0", "")


def test_immutable_settings_are_reported_not_failed(redis_server, client):
    run = config(redis_server, {"databases": 32, "maxmemory": 0})
    assert not run.failed, run.output
    assert run.result["restart_required"] == ["databases"]
    assert not run.changed
    assert any("databases differs" in warning for warning in run.result.get("warnings", []))
    assert client.config_get("databases") == {"databases": "16"}


def test_unknown_setting_is_named(redis_server, client):
    run = config(redis_server, {"maxmemory": "1mb", "max-memroy": "1mb"})
    assert run.failed
    assert "unknown Redis setting max-memroy" in run.result["msg"]
    assert client.config_get("maxmemory") == {"maxmemory": "0"}


def test_value_the_server_rejects_is_named(redis_server, client):
    run = config(redis_server, {"maxmemory-policy": "forget-everything"})
    assert run.failed
    assert run.result["msg"].startswith("settings.maxmemory-policy: the server rejected the change")
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}


def test_wrong_password_is_refused_clearly_and_never_shown(redis_server, client):
    client.execute_command("ACL", "SETUSER", "config-tester", "on", ">right-password", "~*", "&*", "+@all")
    try:
        run = config(redis_server, {"maxmemory": 0}, login_user="config-tester", login_password="wrong-password")
        assert run.failed
        assert "refused user 'config-tester'" in run.result["msg"]
        assert "wrong-password" not in run.output

        ok = config(redis_server, {"maxmemory": 0}, login_user="config-tester", login_password="right-password")
        assert not ok.failed, ok.output
        assert "right-password" not in ok.output
    finally:
        client.execute_command("ACL", "DELUSER", "config-tester")


def test_secret_settings_are_masked(redis_server, client):
    try:
        run = config(redis_server, {"masterauth": "replica-secret-1"}, diff=True, persist=False)
        assert not run.failed, run.output
        assert run.changed
        assert "replica-secret-1" not in run.output
        assert run.result["commands"] == ["CONFIG SET masterauth ********"]
    finally:
        client.config_set("masterauth", "")


def test_unreachable_server_names_host_and_port():
    run = run_module("mantis.datalayer.redis_config", {"login_port": 1, "settings": {"maxmemory": 0}})
    assert run.failed
    assert "cannot reach Redis at 127.0.0.1:1" in run.result["msg"]
