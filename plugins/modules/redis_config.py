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
    description: Shows the managed settings before and after (secrets masked).
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


_FAILED_ARGUMENT = re.compile(r"argument '([^']+)'")


class RedisConfig:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.commands = []

    def read(self, names):
        """CONFIG GET every name; unknown names come back missing."""
        try:
            reply = self.client.command("CONFIG", "GET", *names)
        except RedisError:
            # Redis before 7.0 takes one pattern per CONFIG GET.
            reply = []
            for name in names:
                reply.extend(self.client.command("CONFIG", "GET", name))
        return dict(zip(reply[::2], reply[1::2]))

    def config_file(self):
        info = self.client.command("INFO", "server")
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
                if "wrong number of arguments" in message and len(pending) > 1:
                    # Redis before 7.0 takes one setting per CONFIG SET.
                    for name in sorted(pending):
                        self.apply({name: pending[name]}, restart_required)
                    return
                match = _FAILED_ARGUMENT.search(message)
                name = match.group(1) if match else None
                if name in pending and ("immutable" in message or "protected" in message):
                    restart_required.append(name)
                    del pending[name]
                    continue
                where = "settings.%s" % name if name in pending else "settings"
                shown = MASK if name in SECRET_SETTINGS else pending.get(name)
                detail = " (value %r)" % shown if name in pending else ""
                self.module.fail_json(
                    msg="%s: the server rejected the change%s: %s" % (where, detail, message), commands=self.commands
                )
            else:
                self.record(*args)
                return


def main():
    argument_spec = redis_argument_spec()
    argument_spec.update(
        settings=dict(type="dict", required=True),
        persist=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    raw_settings = module.params["settings"]
    errors = validate_settings(raw_settings)
    if not raw_settings:
        errors.append("settings: give at least one setting")
    if errors:
        module.fail_json(msg="; ".join(errors))
    desired = dict((name.lower(), normalize_value(value)) for name, value in raw_settings.items())
    for name in SECRET_SETTINGS & set(desired):
        if desired[name]:
            module.no_log_values.add(desired[name])
            module.no_log_values.add(str(raw_settings.get(name, "")))

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

        file_drift = False
        config_path = config.config_file() if module.params["persist"] else None
        if config_path and os.access(config_path, os.R_OK):
            in_file = parse_config_file(config_path, set(desired) - set(restart_required))
            file_drift = any(
                in_file.get(name, normalize_value(current[name])) != value
                for name, value in desired.items()
                if name not in restart_required
            )

        if module.check_mode:
            if to_set:
                config.record("CONFIG", "SET", *[part for name in sorted(to_set) for part in (name, to_set[name])])
        else:
            config.apply(to_set, restart_required)
            restart_required.sort()
            for name in restart_required:
                to_set.pop(name, None)

        rewrite = module.params["persist"] and bool(to_set or file_drift)
        if rewrite:
            config.record("CONFIG", "REWRITE")
            if not module.check_mode:
                try:
                    client.command("CONFIG", "REWRITE")
                except RedisError as exc:
                    module.fail_json(
                        msg="persist: CONFIG REWRITE failed (settings are applied but will not "
                        "survive a restart): %s" % exc,
                        commands=config.commands,
                    )
    except RedisConnectionError as exc:
        module.fail_json(msg=str(exc), commands=config.commands)
    finally:
        client.close()

    def shown(name, value):
        return MASK if name in SECRET_SETTINGS and value else value

    changed_settings = dict(
        (name, dict(before=shown(name, current[name]), after=shown(name, value))) for name, value in to_set.items()
    )
    for name in restart_required:
        module.warn(
            "redis_config: %s differs (running %r, wanted %r) but cannot change while Redis runs; "
            "set it in the configuration file and restart"
            % (name, shown(name, current[name]), shown(name, desired[name]))
        )
    result = dict(
        changed=bool(to_set) or rewrite,
        changed_settings=changed_settings,
        restart_required=restart_required,
        rewritten=rewrite,
        commands=config.commands,
    )
    if module._diff:
        result["diff"] = dict(
            before=dict((name, shown(name, normalize_value(current[name]))) for name in sorted(desired)),
            after=dict(
                (name, shown(name, desired[name] if name in to_set else normalize_value(current[name])))
                for name in sorted(desired)
            ),
            before_header="redis CONFIG (running)",
            after_header="redis CONFIG (converged)",
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
