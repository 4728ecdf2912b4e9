"""redis_config against Debian's real redis-server under systemd in a test host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import yaml

from tests.support.ansible_runner import COLLECTIONS_DIR, ModuleRun, run_module, write_inventory

# What redis_config sends, as ACL rules: CONFIG GET and SET, and with persist CONFIG REWRITE
# and INFO (which names the configuration file).
NEEDED_RULES = "redis_config needs +config|get +config|set +config|rewrite +info (or +@admin +info)"


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


def config_on_the_redis_host(redis_server, tmp_path, settings, check=False, diff=False):
    """redis_config run on the Redis host itself, where it can read /etc/redis/redis.conf.

    run_module runs modules on the controller, which cannot see the test host's files; this
    runs the same one-task play there through the docker connection.
    """
    name = redis_server.host.name
    inventory = write_inventory(tmp_path / "inventory", {"redis": [name]})
    task = {"mantis.datalayer.redis_config": {"login_port": 6379, "settings": settings}, "register": "r"}
    play = [{"hosts": "redis", "gather_facts": False, "tasks": [{"name": "module under test", **task}]}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(inventory), str(playbook)]
    cmd += ["--check"] if check else []
    cmd += ["--diff"] if diff else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][name]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError(f"could not read the module result:\n{proc.stdout}{proc.stderr}") from exc
    return ModuleRun(result=result, output=proc.stdout + proc.stderr)


@pytest.fixture
def acl_user(client):
    """make(name, *rules): an ACL user with those rules, as login options; deleted after the test."""
    made = []

    def make(name, *rules):
        client.execute_command("ACL", "SETUSER", name, "reset", "on", f">{name}-password", *rules)
        made.append(name)
        return {"login_user": name, "login_password": f"{name}-password"}

    yield make
    for name in made:
        client.execute_command("ACL", "DELUSER", name)


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


def test_drift_only_in_the_config_file_is_rewritten_and_shown_in_the_diff(redis_server, client, tmp_path):
    """The running server is right, /etc/redis/redis.conf is not: CONFIG REWRITE, with the file's
    value before and after in the diff (the running values do not change)."""
    redis_server.host.sh("sed -i '/^maxmemory /d' /etc/redis/redis.conf && echo 'maxmemory 0' >> /etc/redis/redis.conf")
    client.config_set("maxmemory", "256mb")

    check = config_on_the_redis_host(redis_server, tmp_path, {"maxmemory": "256mb"}, check=True, diff=True)
    assert not check.failed, check.output
    assert check.changed
    assert check.result["commands"] == ["CONFIG REWRITE"]
    assert check.result["diff"]["before"] == {"maxmemory": "268435456", "file": {"maxmemory": "0"}}
    assert check.result["diff"]["after"] == {"maxmemory": "268435456", "file": {"maxmemory": "268435456"}}
    assert check.result["changed_settings"] == {}
    assert check.result["config_file"] == "/etc/redis/redis.conf"
    assert check.result["file_settings"] == {"maxmemory": {"before": "0", "after": "268435456"}}
    assert check.result["diff"]["after_header"] == (
        "redis CONFIG (converged) and /etc/redis/redis.conf after CONFIG REWRITE"
    )
    assert persisted(redis_server, "maxmemory") == "maxmemory 0"

    run = config_on_the_redis_host(redis_server, tmp_path, {"maxmemory": "256mb"}, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert run.result["diff"] == check.result["diff"]
    assert persisted(redis_server, "maxmemory") == "maxmemory 256mb"

    again = config_on_the_redis_host(redis_server, tmp_path, {"maxmemory": "256mb"}, diff=True)
    assert not again.failed, again.output
    assert not again.changed
    assert again.result["commands"] == []
    assert again.result["file_settings"] == {}
    assert again.result["diff"]["before"] == again.result["diff"]["after"]


def test_a_secret_that_differs_only_in_the_config_file_is_marked_not_shown(redis_server, client, tmp_path):
    redis_server.host.sh(
        "sed -i '/^masterauth /d' /etc/redis/redis.conf && echo 'masterauth old-file-secret' >> /etc/redis/redis.conf"
    )
    client.config_set("masterauth", "new-secret-2")
    try:
        run = config_on_the_redis_host(redis_server, tmp_path, {"masterauth": "new-secret-2"}, check=True, diff=True)
        assert not run.failed, run.output
        assert run.changed
        assert run.result["diff"]["before"] == {"masterauth": "********", "file": {"masterauth": "********"}}
        assert run.result["diff"]["after"] == {"masterauth": "********", "file": {"masterauth": "******** (changed)"}}
        assert run.result["file_settings"] == {"masterauth": {"before": "********", "after": "******** (changed)"}}
        assert "old-file-secret" not in run.output
        assert "new-secret-2" not in run.output
    finally:
        redis_server.host.sh("sed -i '/^masterauth /d' /etc/redis/redis.conf")
        client.config_set("masterauth", "")


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
    """Redis 7+ configSetCommand() (src/config.c) answers a bad value with
    "CONFIG SET failed (possibly related to argument '%s') - %s", enumConfigSet() giving the reason."""
    run = config(redis_server, {"maxmemory": "64mb", "maxmemory-policy": "forget-everything"})
    assert run.failed
    assert run.result["msg"].startswith(
        "settings.maxmemory-policy: the server rejected the change (value 'forget-everything'): "
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
        "argument(s) must be one of the following: volatile-lru, "
    )
    # One CONFIG SET is atomic: the valid setting beside it is not applied either.
    assert client.config_get("maxmemory") == {"maxmemory": "0"}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}


def test_a_value_that_is_not_a_memory_size_is_named(redis_server, client):
    """numericConfigSet() (src/config.c) fails on what memtoull() cannot read:
    "argument must be a memory value"."""
    run = config(redis_server, {"maxmemory": "lots"})
    assert run.failed
    assert run.result["msg"] == (
        "settings.maxmemory: the server rejected the change (value 'lots'): ERR CONFIG SET failed "
        "(possibly related to argument 'maxmemory') - argument must be a memory value"
    )


def test_wrong_password_is_refused_clearly_and_never_shown(redis_server, client, acl_user):
    """ACLAuthenticateUser() (src/acl.c) answers a bad password, or a user that does not exist or
    is off, with "-WRONGPASS invalid username-password pair or user is disabled."."""
    login = acl_user("config-tester", "~*", "&*", "+@all")
    run = config(redis_server, {"maxmemory": 0}, login_user="config-tester", login_password="wrong-password")
    assert run.failed
    assert run.result["msg"] == (
        f"login_user, login_password: Redis at 127.0.0.1:{redis_server.port} refused user 'config-tester': "
        "WRONGPASS invalid username-password pair or user is disabled. Check that login_password is the "
        "user's password and that the user exists and is on (ACL GETUSER config-tester)"
    )
    assert "wrong-password" not in run.output

    ok = config(redis_server, {"maxmemory": 0}, **login)
    assert not ok.failed, ok.output
    assert login["login_password"] not in ok.output


def test_login_user_without_a_password_logs_in_as_that_user(redis_server, client, acl_user):
    """Without login_password the module sent no AUTH and ran as the default user."""
    acl_user("config-tester", "~*", "&*", "+@all")
    run = config(redis_server, {"maxmemory": 0}, login_user="config-tester")
    assert run.failed
    assert run.result["msg"].startswith(
        f"login_user, login_password: Redis at 127.0.0.1:{redis_server.port} refused user 'config-tester': "
        "WRONGPASS invalid username-password pair or user is disabled."
    )
    client.execute_command("ACL", "SETUSER", "config-tester", "nopass")
    passwordless = config(redis_server, {"maxmemory": 0}, login_user="config-tester")
    assert not passwordless.failed, passwordless.output


def test_a_password_for_the_default_user_without_one_names_login_password(redis_server, client):
    """authCommand() (src/acl.c) refuses AUTH <password> while the default user is nopass."""
    run = config(redis_server, {"maxmemory": 0}, login_password="stray-secret-7")
    assert run.failed
    assert run.result["msg"] == (
        f"login_password: Redis at 127.0.0.1:{redis_server.port} refused the default user: "
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct? The default user has no password: set login_user "
        "to the ACL user login_password belongs to, or leave login_password out"
    )
    assert "stray-secret-7" not in run.output


def test_no_password_where_the_server_requires_one_names_login_password(redis_server, client):
    """processCommand() (src/server.c) answers every command but AUTH and HELLO from a client
    that has not logged in with shared.noautherr, "-NOAUTH Authentication required."."""
    client.execute_command("ACL", "SETUSER", "default", "resetpass", ">default-secret-9")
    try:
        run = config(redis_server, {"maxmemory": 0})
        assert run.failed
        assert run.result["msg"] == (
            f"login_password: Redis at 127.0.0.1:{redis_server.port} requires a password and login_password "
            "is not set: NOAUTH Authentication required. Set login_user and login_password, or login_password "
            "alone for the default user (requirepass)"
        )
    finally:
        admin = redis.Redis(host="127.0.0.1", port=redis_server.port, password="default-secret-9")
        admin.execute_command("ACL", "SETUSER", "default", "nopass")
        admin.close()


def test_config_get_refused_names_login_user_and_the_acl_rule(redis_server, client, acl_user):
    """processCommand() (src/server.c) answers a command the user's ACL denies with "-NOPERM %s",
    getAclErrorMessage() (src/acl.c) giving "User %S has no permissions to run the '%S' command"."""
    login = acl_user("config-no-get", "~*", "&*", "+@all", "-config|get")
    for check in (True, False):
        run = config(redis_server, {"maxmemory": "8mb"}, check=check, **login)
        assert run.failed
        assert run.result["msg"] == (
            f"login_user: Redis at 127.0.0.1:{redis_server.port} refused CONFIG GET to user 'config-no-get': "
            "NOPERM User config-no-get has no permissions to run the 'config|get' command. "
            f"Give the user the ACL rule +config|get; {NEEDED_RULES}"
        )
    assert client.config_get("maxmemory") == {"maxmemory": "0"}


def test_config_set_refused_names_the_setting_and_login_user(redis_server, client, acl_user):
    login = acl_user("config-no-set", "~*", "&*", "+@all", "-config|set")
    run = config(redis_server, {"maxmemory": "8mb", "maxmemory-policy": "noeviction"}, **login)
    assert run.failed
    assert run.result["msg"] == (
        f"settings.maxmemory: Redis at 127.0.0.1:{redis_server.port} refused CONFIG SET to user "
        "'config-no-set' (login_user): NOPERM User config-no-set has no permissions to run the 'config|set' "
        f"command. Give the user the ACL rule +config|set; {NEEDED_RULES}"
    )
    assert run.result["commands"] == []
    assert client.config_get("maxmemory") == {"maxmemory": "0"}


def test_config_rewrite_refused_says_what_is_applied_but_not_persisted(redis_server, client, acl_user):
    login = acl_user("config-no-rewrite", "~*", "&*", "+@all", "-config|rewrite")
    run = config(redis_server, {"maxmemory": "8mb"}, **login)
    assert run.failed
    assert run.result["msg"] == (
        f"persist: Redis at 127.0.0.1:{redis_server.port} refused CONFIG REWRITE to user 'config-no-rewrite' "
        "(login_user): NOPERM User config-no-rewrite has no permissions to run the 'config|rewrite' command. "
        "settings.maxmemory is applied but will not survive a restart. Give the user the ACL rule "
        f"+config|rewrite, or set persist: false; {NEEDED_RULES}"
    )
    assert run.result["commands"] == ["CONFIG SET maxmemory 8388608", "CONFIG REWRITE"]
    assert client.config_get("maxmemory") == {"maxmemory": "8388608"}


def test_info_refused_names_persist_and_login_user(redis_server, client, acl_user):
    login = acl_user("config-no-info", "~*", "&*", "+@all", "-info")
    run = config(redis_server, {"maxmemory": "8mb"}, **login)
    assert run.failed
    assert run.result["msg"] == (
        f"persist: Redis at 127.0.0.1:{redis_server.port} refused INFO to user 'config-no-info' (login_user), "
        "which redis_config reads to find the configuration file persist keeps in step: NOPERM User "
        "config-no-info has no permissions to run the 'info' command. Give the user the ACL rule +info, "
        f"or set persist: false; {NEEDED_RULES}"
    )
    assert client.config_get("maxmemory") == {"maxmemory": "0"}
    unpersisted = config(redis_server, {"maxmemory": "8mb"}, persist=False, **login)
    assert not unpersisted.failed, unpersisted.output


def test_a_user_with_only_the_rules_the_module_needs_converges(redis_server, client, acl_user):
    """No keys, no channels, not even PING: the rules NEEDED_RULES names are enough."""
    login = acl_user("config-only", "+config|get", "+config|set", "+config|rewrite", "+info")
    run = config(redis_server, {"maxmemory": "8mb"}, **login)
    assert not run.failed, run.output
    assert run.changed
    again = config(redis_server, {"maxmemory": "8mb"}, **login)
    assert not again.failed, again.output
    assert not again.changed


def test_secret_settings_are_masked(redis_server, client):
    try:
        run = config(redis_server, {"masterauth": "replica-secret-1"}, diff=True, persist=False)
        assert not run.failed, run.output
        assert run.changed
        assert "replica-secret-1" not in run.output
        assert run.result["commands"] == ["CONFIG SET masterauth ********"]
    finally:
        client.config_set("masterauth", "")


def test_a_secret_under_a_name_the_module_refuses_is_not_shown(redis_server, client):
    """The failure's output carries the module's arguments (invocation) too."""
    run = config(redis_server, {"REQUIREPASS": "upper-secret-3"})
    assert run.failed
    assert run.result["msg"].startswith("settings.REQUIREPASS: not a Redis setting name")
    assert "upper-secret-3" not in run.output


def test_unreachable_server_names_host_and_port():
    run = run_module("mantis.datalayer.redis_config", {"login_port": 1, "settings": {"maxmemory": 0}})
    assert run.failed
    assert "cannot reach Redis at 127.0.0.1:1" in run.result["msg"]
