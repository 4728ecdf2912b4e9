#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redis_config
short_description: Converge a running Redis server's configuration and keep it across restarts
version_added: 0.1.0
description:
  - Reads the current value of every setting in O(settings) with C(CONFIG GET), compares after
    normalising (memory units such as C(1gb), C(yes)/C(no) and booleans, lists and whitespace),
    applies the differences with one C(CONFIG SET) (atomic on Redis 7 and newer) and, with
    O(persist), writes them to the server's configuration file with C(CONFIG REWRITE), so a restart
    brings back exactly the converged configuration.
  - When the module runs on the Redis host itself it also reads the configuration file the server
    was started with (C(INFO server) names it) and runs C(CONFIG REWRITE) when the file disagrees
    with the running server, so file and server never drift apart.
  - Settings that Redis cannot change at runtime (for example C(databases), C(daemonize),
    C(aclfile)) are not applied; they are reported in RV(restart_required) with a warning.
    Put them in the configuration file and restart (the M(mantis.datalayer.redis) role does this).
  - Talks the Redis protocol itself; the managed host needs no Redis client library.
  - The login user needs the ACL rules C(+config|get +config|set), and with O(persist) also
    C(+config|rewrite +info) (or C(+@admin +info), as C(INFO) is not in C(@admin)). A refused command
    fails with the rule that allows it.
extends_documentation_fragment:
  - mantis.datalayer.redis
options:
  settings:
    description:
      - Settings to converge, by their C(redis.conf) name.
      - Values may be strings, numbers, booleans (written as C(yes)/C(no)) or lists (joined with
        spaces; a list of lists such as C([[3600, 1], [300, 100]]) for C(save)).
      - Memory values accept Redis units (C(512mb), C(1gb), C(100k)) and are compared in bytes.
      - Values of C(requirepass), C(masterauth) and the TLS key passphrases are treated as secrets.
    type: dict
    required: true
  persist:
    description:
      - Run C(CONFIG REWRITE) after a change (and when the configuration file disagrees with the
        running server) so the settings survive a restart.
      - Without it, changes last until the next restart.
    type: bool
    default: true
attributes:
  check_mode:
    description: Reads the server and reports what would change; sends no CONFIG SET or CONFIG REWRITE.
    support: full
  diff_mode:
    description:
      - Shows the managed settings before and after on the running server and, when the module read
        the configuration file, under C(file) their values in that file before and after
        C(CONFIG REWRITE) (C(null) where the file does not set them).
      - Secrets are masked as C(********); a secret that changes shows the mask followed by "(changed)".
    support: full
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Feature-store memory settings, applied live and persisted
  mantis.datalayer.redis_config:
    login_port: 6380
    login_user: mantis-admin
    login_password: "{{ vault_redis_admin_password }}"
    settings:
      maxmemory: 2gb
      maxmemory-policy: volatile-lru
      appendonly: true
      appendfsync: everysec
      save: [[3600, 1], [300, 100], [60, 10000]]

- name: Over TLS with a private CA
  mantis.datalayer.redis_config:
    login_host: redis1.plant.local
    login_port: 6380
    tls: true
    ca_certs: /etc/ssl/plant/ca.pem
    login_user: mantis-admin
    login_password: "{{ vault_redis_admin_password }}"
    settings:
      maxmemory: 4gb
"""

RETURN = r"""
changed_settings:
  description: Settings that differed, with the value read before and the value set.
  returned: always
  type: dict
  sample: {"maxmemory": {"before": "0", "after": "2147483648"}}
restart_required:
  description: Settings that differ but cannot be changed while the server runs.
  returned: always
  type: list
  elements: str
  sample: ["databases"]
rewritten:
  description: Whether C(CONFIG REWRITE) ran (or would run, in check mode).
  returned: always
  type: bool
config_file:
  description:
    - The configuration file the module read (the one C(INFO server) names), or C(null) when it did not
      read one (O(persist) off, or the module does not run on the Redis host).
  returned: always
  type: str
  sample: /etc/redis/redis.conf
file_settings:
  description:
    - Settings whose value in RV(config_file) changed (or would change) with C(CONFIG REWRITE), with the
      file's value before and after; C(null) where the file did not set it. Secrets masked.
  returned: always
  type: dict
  sample: {"maxmemory": {"before": "0", "after": "268435456"}}
commands:
  description: Redis commands sent (or that would be sent in check mode) to change the server; secrets masked.
  returned: always
  type: list
  elements: str
  sample: ["CONFIG SET maxmemory 2147483648", "CONFIG REWRITE"]
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.redis import (
    RedisConnectionError,
    RedisError,
    connect,
    login_description,
    redis_argument_spec,
)

SECRET_SETTINGS = frozenset(["requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"])

# Settings Redis refuses to change at runtime (IMMUTABLE_CONFIG in the server's config
# table). Used to predict restart_required in check mode; a real run also learns it from
# the server's error, so a setting missing here is still handled.
IMMUTABLE_SETTINGS = frozenset(
    [
        "aclfile",
        "always-show-logo",
        "appenddirname",
        "appendfilename",
        "cluster-config-file",
        "cluster-enabled",
        "cluster-port",
        "daemonize",
        "databases",
        "disable-thp",
        "enable-debug-command",
        "enable-module-command",
        "enable-protected-configs",
        "io-threads",
        "io-threads-do-reads",
        "logfile",
        "pidfile",
        "proc-title-template",
        "set-proc-title",
        "supervised",
        "syslog-enabled",
        "syslog-facility",
        "syslog-ident",
        "tcp-backlog",
        "unixsocket",
        "unixsocketperm",
    ]
)

MEMORY_UNITS = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_MEMORY_TOKEN = re.compile(r"^(\d+)(k|kb|m|mb|g|gb)$", re.IGNORECASE)
_SETTING_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MASK = "********"


def normalize_token(token):
    """One whitespace-separated word of a value, in the form CONFIG GET reports it."""
    match = _MEMORY_TOKEN.match(token)
    if match:
        return str(int(match.group(1)) * MEMORY_UNITS[match.group(2).lower()])
    if token.lower() in ("yes", "no"):
        return token.lower()
    return token


def normalize_value(value):
    """A setting's value as a canonical string, comparable with what CONFIG GET returns."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        words = []
        for item in value:
            words.append(normalize_value(item))
        return " ".join(word for word in words if word != "")
    if value is None:
        return ""
    return " ".join(normalize_token(token) for token in str(value).split())


def validate_settings(settings):
    """Return a list of error messages for setting names Redis could never accept."""
    errors = []
    for name in settings:
        if not _SETTING_NAME.match(name):
            errors.append("settings.%s: not a Redis setting name (lower-case letters, digits and '-')" % name)
    return errors


def plan_config(current, desired, immutable=IMMUTABLE_SETTINGS):
    """Compare normalised settings.

    Returns (to_set, restart_required): the settings to CONFIG SET as {name: value} and
    the names that differ but cannot change at runtime.
    """
    to_set = {}
    restart_required = []
    for name in sorted(desired):
        if normalize_value(current.get(name)) == desired[name]:
            continue
        if name in immutable:
            restart_required.append(name)
        else:
            to_set[name] = desired[name]
    return to_set, restart_required


# Settings CONFIG REWRITE writes as one line per item ("save 3600 1" / "save 300 100").
REPEATED_SETTINGS = frozenset(["save"])


def parse_config_file(path, names):
    """The value of each setting in `names` found in a redis.conf (no includes).

    The last line wins, except for REPEATED_SETTINGS, whose lines add up.
    """
    found = {}
    with open(path) as handle:
        for line in handle:
            words = line.strip().split(None, 1)
            if not words or words[0].startswith("#"):
                continue
            name = words[0].lower()
            if name in names:
                value = normalize_value((words[1] if len(words) > 1 else "").replace('"', "").replace("'", ""))
                if name in REPEATED_SETTINGS and found.get(name) and value:
                    value = found[name] + " " + value
                found[name] = value
    return found


# The ACL rule that allows each command redis_config sends. CONFIG's subcommands are in
# @admin; INFO is in @dangerous only (src/commands/*.json).
ACL_RULES = {
    "CONFIG GET": "+config|get",
    "CONFIG SET": "+config|set",
    "CONFIG REWRITE": "+config|rewrite",
    "INFO": "+info",
}


def needed_rules(persist):
    """The ACL rules a user needs for what redis_config sends, for error messages."""
    commands = ["CONFIG GET", "CONFIG SET"] + (["CONFIG REWRITE", "INFO"] if persist else [])
    return "redis_config needs %s (or %s)" % (
        " ".join(ACL_RULES[command] for command in commands),
        "+@admin +info" if persist else "+@admin",
    )


def setting_names(names):
    return ", ".join("settings.%s" % name for name in sorted(names))


def refusal_message(command, error, where, login_user, persist, settings=()):
    """The message for an error reply to `command` that is not about a setting's value.

    `settings` are those the command carried (CONFIG SET) or applied before it (CONFIG REWRITE).
    NOPERM replies come from processCommand() (src/server.c): "NOPERM User <user> has no
    permissions to run the '<command>|<subcommand>' command" on Redis 7 and newer.
    """
    user = login_description(login_user)
    if error.code != "NOPERM":
        if command == "CONFIG REWRITE":
            return "persist: CONFIG REWRITE failed: %s. %s" % (error, not_persisted(settings))
        option = "persist" if command == "INFO" else setting_names(settings) or "settings"
        return "%s: Redis at %s refused %s to %s: %s" % (option, where, command, user, error)
    refused = "Redis at %s refused %s to %s" % (where, command, user)
    if command != "CONFIG GET":
        refused += " (login_user)" if login_user else " (login_user not set)"
    grant = "Give the user the ACL rule %s" % ACL_RULES[command]
    rules = needed_rules(persist)
    if command == "CONFIG GET":
        return "login_user: %s: %s. %s; %s" % (refused, error, grant, rules)
    if command == "CONFIG SET":
        return "%s: %s: %s. %s; %s" % (setting_names(settings), refused, error, grant, rules)
    if command == "CONFIG REWRITE":
        return "persist: %s: %s. %s %s, or set persist: false; %s" % (
            refused,
            error,
            not_persisted(settings),
            grant,
            rules,
        )
    return (
        "persist: %s, which redis_config reads to find the configuration file persist keeps in step: %s. "
        "%s, or set persist: false; %s" % (refused, error, grant, rules)
    )


def not_persisted(applied):
    if not applied:
        return "The configuration file still disagrees with the running server."
    return "%s %s applied but will not survive a restart." % (
        setting_names(applied),
        "is" if len(applied) == 1 else "are",
    )


# How an error reply to CONFIG SET names the setting (src/config.c): Redis 7 and newer say
# "CONFIG SET failed (possibly related to argument '<name>') - <reason>" and
# "Unknown option or number of arguments for CONFIG SET - '<name>'"; Redis 6 says
# "Invalid argument '<value>' for CONFIG SET '<name>'" and "Unsupported CONFIG parameter: <name>".
_REPLY_SETTING = (
    re.compile(r"possibly related to argument '([^']*)'"),
    re.compile(r"for CONFIG SET - '([^']*)'"),
    re.compile(r"for CONFIG SET '([^']*)'"),
    re.compile(r"Unsupported CONFIG parameter: (\S+)"),
)
# Refusals that mean "not while the server runs": Redis 7+ IMMUTABLE_CONFIG and
# PROTECTED_CONFIG, and Redis 6, which does not know immutable settings in CONFIG SET (the
# module has read them with CONFIG GET before).
_NOT_AT_RUNTIME = ("can't set immutable config", "can't set protected config", "Unsupported CONFIG parameter")


def setting_in_reply(reply, sent):
    """The setting among `sent` an error reply to CONFIG SET is about, or None.

    Redis 7 names the canonical setting where an alias was sent (replica-read-only for
    slave-read-only): when one setting was sent, the reply is about that one.
    """
    for pattern in _REPLY_SETTING:
        match = pattern.search(reply)
        if match and match.group(1).lower() in sent:
            return match.group(1).lower()
    return next(iter(sent)) if len(sent) == 1 else None


def rejected_change_message(reply, sent, name):
    """The message for a CONFIG SET the server refused because of a setting or its value."""
    for secret in SECRET_SETTINGS & set(sent):
        if sent[secret]:
            # Redis 6 repeats the value in its reply.
            reply = reply.replace(sent[secret], MASK)
    if name is None:
        return "%s: the server rejected the change: %s" % (setting_names(sent), reply)
    value = MASK if name in SECRET_SETTINGS and sent[name] else sent[name]
    return "settings.%s: the server rejected the change (value %r): %s" % (name, value, reply)


def shown_change(name, before, after):
    """before and after as output may show them: a secret masked, a changed secret marked so."""
    if name not in SECRET_SETTINGS:
        return before, after
    masked_after = MASK if after else after
    if before and after and before != after:
        masked_after = MASK + " (changed)"
    return (MASK if before else before), masked_after


def shown_values(before, after, only_changed=False):
    """`before` and `after` ({name: value}) as output may show them, secrets masked."""
    shown_before, shown_after = {}, {}
    for name in sorted(before):
        if not only_changed or before[name] != after[name]:
            shown_before[name], shown_after[name] = shown_change(name, before[name], after[name])
    return shown_before, shown_after


def as_changes(before, after):
    """{name: {"before": ..., "after": ...}} for the settings that change, secrets masked."""
    shown_before, shown_after = shown_values(before, after, only_changed=True)
    return dict((name, dict(before=shown_before[name], after=shown_after[name])) for name in shown_before)


def file_drift(in_file, converged, restart_required):
    """Settings whose line in the configuration file differs from the converged running value.

    Those CONFIG REWRITE can bring in step; a setting that needs a restart is the restart's
    business, and a setting missing from `in_file` (parse_config_file) is left to the server.
    """
    return sorted(
        name
        for name, value in converged.items()
        if name in in_file and in_file[name] != value and name not in restart_required
    )


def file_values(in_file, converged, rewrite):
    """The configuration file's value of each managed setting before and after, for the diff.

    None: the file does not hold the setting (a restart gives the server's default). CONFIG
    REWRITE writes every running value that differs from its default, so after it a restart
    brings back exactly `converged`.
    """
    before = dict((name, in_file.get(name)) for name in converged)
    after = dict((name, converged[name] if rewrite else before[name]) for name in converged)
    return before, after


class RedisConfig:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.commands = []

    def refused(self, command, error, settings=()):
        params = self.module.params
        self.module.fail_json(
            msg=refusal_message(command, error, self.client.where, params["login_user"], params["persist"], settings),
            commands=self.commands,
        )

    def read(self, names):
        """CONFIG GET every name; unknown names come back missing."""
        try:
            reply = self.client.command("CONFIG", "GET", *names)
        except RedisError as exc:
            if "wrong number of arguments" not in str(exc) or len(names) == 1:
                self.refused("CONFIG GET", exc)
            # Redis before 7.0 takes one pattern per CONFIG GET.
            reply = []
            for name in names:
                try:
                    reply.extend(self.client.command("CONFIG", "GET", name))
                except RedisError as exc:
                    self.refused("CONFIG GET", exc)
        return dict(zip(reply[::2], reply[1::2]))

    def config_file(self):
        try:
            info = self.client.command("INFO", "server")
        except RedisError as exc:
            self.refused("INFO", exc)
        for line in info.splitlines():
            if line.startswith("config_file:"):
                return line.split(":", 1)[1].strip() or None
        return None

    def record(self, *args):
        shown = []
        for index, arg in enumerate(args):
            secret = index > 0 and args[index - 1] in SECRET_SETTINGS and args[0] == "CONFIG"
            shown.append(MASK if secret else (str(arg) if str(arg) != "" else '""'))
        self.commands.append(" ".join(shown))

    def apply(self, to_set, restart_required):
        """CONFIG SET all at once; settings the server calls immutable move to restart_required."""
        pending = dict(to_set)
        while pending:
            args = ["CONFIG", "SET"]
            for name in sorted(pending):
                args.extend([name, pending[name]])
            try:
                self.client.command(*args)
            except RedisError as exc:
                message = str(exc)
                if exc.code == "NOPERM":
                    self.refused("CONFIG SET", exc, sorted(pending))
                if "wrong number of arguments" in message and len(pending) > 1:
                    # Redis before 7.0 takes one setting per CONFIG SET.
                    for name in sorted(pending):
                        self.apply({name: pending[name]}, restart_required)
                    return
                name = setting_in_reply(message, pending)
                if name and any(reason in message for reason in _NOT_AT_RUNTIME):
                    restart_required.append(name)
                    del pending[name]
                    continue
                self.module.fail_json(msg=rejected_change_message(message, pending, name), commands=self.commands)
            else:
                self.record(*args)
                return

    def rewrite(self, applied):
        self.record("CONFIG", "REWRITE")
        try:
            self.client.command("CONFIG", "REWRITE")
        except RedisError as exc:
            self.refused("CONFIG REWRITE", exc, applied)


def main():
    argument_spec = redis_argument_spec()
    argument_spec.update(
        settings=dict(type="dict", required=True),
        persist=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    raw_settings = module.params["settings"]
    # First of all: every result, a failure's too, carries the module's arguments.
    for name, value in raw_settings.items():
        if name.lower() in SECRET_SETTINGS and normalize_value(value):
            module.no_log_values.update([str(value), normalize_value(value)])
    errors = validate_settings(raw_settings)
    if not raw_settings:
        errors.append("settings: give at least one setting")
    if errors:
        module.fail_json(msg="; ".join(errors))
    desired = dict((name.lower(), normalize_value(value)) for name, value in raw_settings.items())
    persist = module.params["persist"]

    client = connect(module)
    config = RedisConfig(module, client)
    try:
        current = config.read(sorted(desired))
        unknown = sorted(set(desired) - set(current))
        if unknown:
            module.fail_json(
                msg="settings: unknown Redis setting%s %s (CONFIG GET returned nothing)"
                % ("s" if len(unknown) > 1 else "", ", ".join(unknown))
            )
        to_set, restart_required = plan_config(current, desired)

        in_file = None
        config_path = config.config_file() if persist else None
        if config_path and os.access(config_path, os.R_OK):
            in_file = parse_config_file(config_path, set(desired))
            module.no_log_values.update(value for name, value in in_file.items() if name in SECRET_SETTINGS and value)

        if module.check_mode:
            if to_set:
                config.record("CONFIG", "SET", *[part for name in sorted(to_set) for part in (name, to_set[name])])
        else:
            config.apply(to_set, restart_required)
            restart_required.sort()
            for name in restart_required:
                to_set.pop(name, None)

        converged = dict((name, to_set.get(name, normalize_value(current[name]))) for name in desired)
        drift = file_drift(in_file, converged, restart_required) if in_file is not None else []
        rewrite = persist and bool(to_set or drift)
        if rewrite and module.check_mode:
            config.record("CONFIG", "REWRITE")
        elif rewrite:
            config.rewrite(sorted(to_set))
    except RedisConnectionError as exc:
        module.fail_json(msg=str(exc), commands=config.commands)
    finally:
        client.close()

    running_before = dict((name, normalize_value(current[name])) for name in desired)
    file_before, file_after = file_values(in_file, converged, rewrite) if in_file is not None else ({}, {})
    for name in restart_required:
        shown_current, shown_wanted = shown_change(name, running_before[name], desired[name])
        module.warn(
            "redis_config: %s differs (running %r, wanted %r) but cannot change while Redis runs; "
            "set it in the configuration file and restart" % (name, shown_current, shown_wanted)
        )
    result = dict(
        changed=bool(to_set) or rewrite,
        changed_settings=as_changes(running_before, converged),
        restart_required=restart_required,
        rewritten=rewrite,
        config_file=config_path if in_file is not None else None,
        file_settings=as_changes(file_before, file_after),
        commands=config.commands,
    )
    if module._diff:
        before, after = shown_values(running_before, converged)
        diff = dict(before=before, after=after, before_header="redis CONFIG (running)")
        diff["after_header"] = "redis CONFIG (converged)"
        if in_file is not None:
            before["file"], after["file"] = shown_values(file_before, file_after)
            diff["before_header"] += " and %s" % config_path
            diff["after_header"] += " and %s%s" % (config_path, " after CONFIG REWRITE" if rewrite else "")
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
