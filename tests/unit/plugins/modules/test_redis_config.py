from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils.redis import RedisError, login_refusal_message
from ansible_collections.mantis.datalayer.plugins.modules.redis_config import (
    MASK,
    RedisConfig,
    as_changes,
    file_drift,
    file_values,
    normalize_value,
    parse_config_file,
    plan_config,
    refusal_message,
    rejected_change_message,
    setting_in_reply,
    shown_change,
    shown_values,
    validate_settings,
)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("2gb", "2147483648"),
        ("512MB", "536870912"),
        ("100k", "100000"),
        (1048576, "1048576"),
        (True, "yes"),
        (False, "no"),
        ("YES", "yes"),
        ("everysec", "everysec"),
        ([[3600, 1], [300, 100]], "3600 1 300 100"),
        ("3600  1   300 100", "3600 1 300 100"),
        ("", ""),
        ([], ""),
        ("normal 0 0 0 replica 256mb 64mb 60", "normal 0 0 0 replica 268435456 67108864 60"),
        ("/var/lib/Redis", "/var/lib/Redis"),
    ],
)
def test_values_are_compared_in_the_form_config_get_reports(given, canonical):
    assert normalize_value(given) == canonical


def test_plan_sets_only_what_differs():
    current = {"maxmemory": "0", "appendonly": "yes", "save": "3600 1 300 100 60 10000"}
    desired = {
        "maxmemory": normalize_value("1gb"),
        "appendonly": normalize_value(True),
        "save": normalize_value([[3600, 1], [300, 100], [60, 10000]]),
    }
    to_set, restart = plan_config(current, desired)
    assert to_set == {"maxmemory": "1073741824"}
    assert restart == []


def test_plan_reports_immutable_settings_instead_of_setting_them():
    to_set, restart = plan_config({"databases": "16", "maxmemory": "0"}, {"databases": "32", "maxmemory": "0"})
    assert to_set == {}
    assert restart == ["databases"]


def test_setting_names_are_validated():
    assert validate_settings({"maxmemory": 1, "max-memory_policy": 2}) == [
        "settings.max-memory_policy: not a Redis setting name (lower-case letters, digits and '-')"
    ]
    assert validate_settings({"maxmemory*": 1})


def test_config_file_values_use_the_last_occurrence(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text('# maxmemory 1gb\nmaxmemory 100mb\nappendonly no\nsave ""\nmaxmemory 2gb\n')
    assert parse_config_file(str(conf), {"maxmemory", "appendonly", "save", "port"}) == {
        "maxmemory": "2147483648",
        "appendonly": "no",
        "save": "",
    }


def test_repeated_save_lines_add_up_as_config_rewrite_writes_them(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("save 3600 1\nsave 300 100\nsave 60 10000\nmaxmemory 1mb\nmaxmemory 2mb\n")
    assert parse_config_file(str(conf), {"save", "maxmemory"}) == {
        "save": "3600 1 300 100 60 10000",
        "maxmemory": "2097152",
    }


def test_an_empty_save_line_disables_snapshots(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text('save ""\n')
    assert parse_config_file(str(conf), {"save"}) == {"save": ""}


# Error replies, as Redis writes them (redis/redis, src/config.c, src/acl.c, src/server.c).
WHERE = "db1:6380"


def refusal(command, reply, login_user="mantis-admin", persist=True, settings=()):
    return refusal_message(command, RedisError(reply), WHERE, login_user, persist, settings)


def test_noperm_on_config_set_names_the_settings_the_user_and_the_rule():
    """Redis 7+: processCommand() (src/server.c) sends "-NOPERM %s" with getAclErrorMessage()'s
    "User %S has no permissions to run the '%S' command" (src/acl.c)."""
    reply = "NOPERM User mantis-admin has no permissions to run the 'config|set' command"
    assert refusal("CONFIG SET", reply, settings=["maxmemory", "appendonly"]) == (
        "settings.appendonly, settings.maxmemory: Redis at db1:6380 refused CONFIG SET to user 'mantis-admin' "
        "(login_user): NOPERM User mantis-admin has no permissions to run the 'config|set' command. Give the "
        "user the ACL rule +config|set; redis_config needs +config|get +config|set +config|rewrite +info "
        "(or +@admin +info)"
    )


def test_noperm_of_redis_6_names_the_user_it_does_not_name():
    """Redis 6.2 processCommand(): "-NOPERM this user has no permissions to run the '%s' command or
    its subcommand", without the user's name; without persist INFO and REWRITE are not needed."""
    reply = "NOPERM this user has no permissions to run the 'config' command or its subcommand"
    assert refusal("CONFIG GET", reply, login_user=None, persist=False) == (
        "login_user: Redis at db1:6380 refused CONFIG GET to the default user: " + reply + ". Give the user "
        "the ACL rule +config|get; redis_config needs +config|get +config|set (or +@admin)"
    )


def test_noperm_on_config_rewrite_says_what_is_not_persisted():
    reply = "NOPERM User u has no permissions to run the 'config|rewrite' command"
    assert refusal("CONFIG REWRITE", reply, login_user=None, settings=["maxmemory", "save"]) == (
        "persist: Redis at db1:6380 refused CONFIG REWRITE to the default user (login_user not set): " + reply + ". "
        "settings.maxmemory, settings.save are applied but will not survive a restart. Give the user the ACL "
        "rule +config|rewrite, or set persist: false; redis_config needs +config|get +config|set "
        "+config|rewrite +info (or +@admin +info)"
    )
    assert "The configuration file still disagrees with the running server." in refusal("CONFIG REWRITE", reply)


def test_a_config_rewrite_that_fails_names_persist():
    """configRewriteCommand() (src/config.c): "The server is running without a config file"."""
    assert refusal("CONFIG REWRITE", "ERR The server is running without a config file", settings=["maxmemory"]) == (
        "persist: CONFIG REWRITE failed: ERR The server is running without a config file. "
        "settings.maxmemory is applied but will not survive a restart."
    )


@pytest.mark.parametrize(
    ("login_user", "reply", "message"),
    [
        (
            "mantis-admin",
            # ACLAuthenticateUser() / addAuthErrReply() (src/acl.c)
            "WRONGPASS invalid username-password pair or user is disabled.",
            "login_user, login_password: Redis at db1:6380 refused user 'mantis-admin': WRONGPASS invalid "
            "username-password pair or user is disabled. Check that login_password is the user's password and "
            "that the user exists and is on (ACL GETUSER mantis-admin)",
        ),
        (
            None,
            "WRONGPASS invalid username-password pair or user is disabled.",
            "login_password: Redis at db1:6380 refused the default user: WRONGPASS invalid username-password "
            "pair or user is disabled. login_password is not the default user's password (requirepass); set "
            "login_user to log in as an ACL user",
        ),
        (
            None,
            # shared.noautherr (src/server.c)
            "NOAUTH Authentication required.",
            "login_password: Redis at db1:6380 requires a password and login_password is not set: NOAUTH "
            "Authentication required. Set login_user and login_password, or login_password alone for the "
            "default user (requirepass)",
        ),
        (
            "mantis-admin",
            "LOADING Redis is loading the dataset in memory",
            "login_user: Redis at db1:6380 refused user 'mantis-admin': LOADING Redis is loading the dataset in memory",
        ),
    ],
)
def test_login_refusals_name_login_user_and_login_password(login_user, reply, message):
    assert login_refusal_message(WHERE, login_user, RedisError(reply)) == message


@pytest.mark.parametrize(
    ("reply", "sent", "name"),
    [
        # Redis 7+ configSetCommand()
        (
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
            {"maxmemory": "lots", "appendonly": "yes"},
            "maxmemory",
        ),
        (
            "ERR Unknown option or number of arguments for CONFIG SET - 'max-memroy'",
            {"max-memroy": "1", "appendonly": "yes"},
            "max-memroy",
        ),
        # An alias sent, the canonical name in the reply: one setting sent is the one.
        (
            "ERR CONFIG SET failed (possibly related to argument 'replica-read-only') - argument must be 'yes' or 'no'",
            {"slave-read-only": "maybe"},
            "slave-read-only",
        ),
        (
            "ERR CONFIG SET failed (possibly related to argument 'replica-read-only') - argument must be 'yes' or 'no'",
            {"slave-read-only": "maybe", "maxmemory": "0"},
            None,
        ),
        # Redis 6.2 configSetCommand()
        ("ERR Invalid argument 'lots' for CONFIG SET 'maxmemory'", {"maxmemory": "lots"}, "maxmemory"),
        ("ERR Invalid argument 'x' for CONFIG SET 'save' - wrong number", {"save": "x"}, "save"),
        ("ERR Unsupported CONFIG parameter: databases", {"databases": "32"}, "databases"),
    ],
)
def test_the_setting_a_config_set_reply_is_about(reply, sent, name):
    assert setting_in_reply(reply, sent) == name


def test_a_rejected_secret_is_masked_even_where_redis_repeats_it():
    """Redis 6.2 puts the value in its reply: "Invalid argument '%s' for CONFIG SET '%s'"."""
    reply = "ERR Invalid argument 'hunter22' for CONFIG SET 'masterauth'"
    assert rejected_change_message(reply, {"masterauth": "hunter22"}, "masterauth") == (
        "settings.masterauth: the server rejected the change (value '********'): "
        "ERR Invalid argument '********' for CONFIG SET 'masterauth'"
    )
    assert rejected_change_message("ERR something", {"maxmemory": "1", "save": ""}, None) == (
        "settings.maxmemory, settings.save: the server rejected the change: ERR something"
    )


class Redis6Config:
    """A Redis 6.2 server for RedisConfig.apply(): one setting per CONFIG SET, immutable
    settings unknown to CONFIG SET."""

    def __init__(self):
        self.settings = {"maxmemory": "0", "appendonly": "no"}

    def command(self, *args):
        if args[:2] != ("CONFIG", "SET"):
            raise AssertionError(args)
        if len(args) != 4:
            raise RedisError("ERR Unknown subcommand or wrong number of arguments for 'set'. Try CONFIG HELP.")
        if args[2] not in self.settings:
            raise RedisError("ERR Unsupported CONFIG parameter: %s" % args[2])
        self.settings[args[2]] = args[3]
        return "OK"


def test_redis_6_gets_one_setting_per_config_set_and_unsupported_ones_wait_for_a_restart():
    client = Redis6Config()
    config = RedisConfig(module=None, client=client)
    restart_required = []
    config.apply({"maxmemory": "1048576", "appendonly": "yes", "databases": "32"}, restart_required)
    assert client.settings == {"maxmemory": "1048576", "appendonly": "yes"}
    assert restart_required == ["databases"]
    assert config.commands == ["CONFIG SET appendonly yes", "CONFIG SET maxmemory 1048576"]


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        ("", "s3cret", ("", MASK)),
        ("s3cret", "s3cret", (MASK, MASK)),
        ("old", "new", (MASK, MASK + " (changed)")),
        ("s3cret", "", (MASK, "")),
        (None, "s3cret", (None, MASK)),
    ],
)
def test_secrets_are_masked_and_a_changed_one_is_marked(before, after, shown):
    assert shown_change("requirepass", before, after) == shown
    assert shown_change("maxmemory", before, after) == (before, after)


def test_file_drift_is_what_config_rewrite_can_fix():
    converged = {"maxmemory": "268435456", "appendonly": "yes", "databases": "16", "save": ""}
    in_file = {"maxmemory": "0", "appendonly": "yes", "databases": "32"}
    # databases needs a restart; save is not in the file and left to the server.
    assert file_drift(in_file, converged, ["databases"]) == ["maxmemory"]
    assert file_drift({"maxmemory": "268435456"}, converged, []) == []


def test_file_values_show_what_config_rewrite_writes():
    converged = {"maxmemory": "268435456", "save": "3600 1"}
    in_file = {"maxmemory": "0"}
    assert file_values(in_file, converged, rewrite=True) == (
        {"maxmemory": "0", "save": None},
        {"maxmemory": "268435456", "save": "3600 1"},
    )
    assert file_values(in_file, converged, rewrite=False) == (
        {"maxmemory": "0", "save": None},
        {"maxmemory": "0", "save": None},
    )


def test_changes_and_shown_values_mask_secrets():
    before = {"maxmemory": "0", "masterauth": "a", "save": ""}
    after = {"maxmemory": "1", "masterauth": "b", "save": ""}
    assert as_changes(before, after) == {
        "maxmemory": {"before": "0", "after": "1"},
        "masterauth": {"before": MASK, "after": MASK + " (changed)"},
    }
    assert shown_values(before, after) == (
        {"maxmemory": "0", "masterauth": MASK, "save": ""},
        {"maxmemory": "1", "masterauth": MASK + " (changed)", "save": ""},
    )
