# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: prometheus_files
short_description: Prometheus scrape configuration, alert rules and their promtool tests for an inventory
version_added: 0.1.0
description:
  - Reads the data-layer hosts of the inventory (groups C(postgresql), C(timescaledb), C(influxdb),
    C(redis), C(backup)) and their monitoring, InfluxDB, Redis snapshot and pgBackRest variables from
    O(_input), with the roles' defaults where a host does not set one (the roles are not loaded in the
    play that uses this filter).
  - Returns the files C(playbooks/prometheus_targets.yml) writes, as text - C(prometheus.yml) (scrape
    jobs reading their targets from C(targets/<job>.yml) through C(file_sd_configs), and the rule file),
    the target files, C(rules/mantis.rules.yml) and C(rules/mantis.rules.test.yml) (for
    C(promtool test rules)) - and warnings about hosts Prometheus cannot reach.
  - No password is read or written; basic auth refers to a password file on the Prometheus server.
  - docs/prometheus.md describes the files, the alerts and the settings.
positional: groups, directory, settings
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  groups:
    description: C(groups).
    type: dict
    required: true
  directory:
    description: Absolute path of the directory the files are written to.
    type: str
    required: true
  settings:
    description:
      - The playbook's settings, by name with or without the C(prometheus_targets_) prefix (thresholds,
        C(server_dir), C(secrets_dir)); an unknown name is an error.
    type: dict
    default: {}
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Files for Prometheus
  ansible.builtin.set_fact:
    prometheus_files: >-
      {{ hostvars | mantis.datalayer.prometheus_files(groups, '/srv/prometheus/mantis', {'disk_free_ratio': 0.1}) }}
"""

RETURN = r"""
_value:
  description: C(files) (path relative to the directory -> text) and C(warnings) (list of messages).
  type: dict
"""

import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.mantis.datalayer.plugins.plugin_utils.prometheus_rules import (
    SettingsError,
    alert_rules,
    read_settings,
)
from ansible_collections.mantis.datalayer.plugins.plugin_utils.prometheus_targets import (
    InventoryError,
    read_inventory,
    scrape_jobs,
    scrape_warnings,
)

HEADER = (
    "# Written by mantis.datalayer.prometheus_targets from the Ansible inventory: run the playbook\n"
    "# again instead of editing this file.\n"
)


class _Dumper(yaml.SafeDumper):
    """Readable YAML: indented lists, multi-line strings (PromQL) as literal blocks."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_Dumper, self).increase_indent(flow, False)


def _text(dumper, value):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)
# Values read from the inventory can be str subclasses (Ansible's tagged strings).
_Dumper.add_multi_representer(str, _text)


def to_yaml(data, comment=""):
    body = yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=100000, allow_unicode=True)
    return HEADER + comment + "---\n" + body


def prometheus_config(jobs, settings, server_dir):
    secrets = settings["secrets_dir"].rstrip("/")
    scrape_configs = []
    for job in jobs:
        config = {"job_name": job["job_name"], "scheme": job["scheme"], "metrics_path": job["metrics_path"]}
        if job["scheme"] == "https":
            config["tls_config"] = {"ca_file": "%s/ca.crt" % secrets}
        if job["basic_auth_username"]:
            config["basic_auth"] = {
                "username": job["basic_auth_username"],
                "password_file": "%s/%s.password" % (secrets, job["basic_auth_username"]),
            }
        config["file_sd_configs"] = [{"files": ["%s/targets/%s.yml" % (server_dir, job["job_name"])]}]
        if job["job_name"] != job["name"]:
            config["relabel_configs"] = [{"target_label": "job", "replacement": job["name"]}]
        scrape_configs.append(config)
    return {"rule_files": ["%s/rules/mantis.rules.yml" % server_dir], "scrape_configs": scrape_configs}


def prometheus_files(hostvars, groups, directory, settings=None):
    try:
        options = read_settings(settings)
        hosts = read_inventory(hostvars, groups)
    except (SettingsError, InventoryError) as error:
        raise AnsibleFilterError(str(error)) from None
    server_dir = str(options["server_dir"] or directory).rstrip("/")
    jobs = scrape_jobs(hosts)
    try:
        rule_groups, tests = alert_rules(hosts, jobs, options)
    except SettingsError as error:
        raise AnsibleFilterError(str(error)) from None

    files = {
        "prometheus.yml": to_yaml(
            prometheus_config(jobs, options, server_dir),
            "# Use it as Prometheus' configuration file, or copy rule_files and scrape_configs into yours.\n"
            "# The targets are in targets/<job>.yml (file_sd: Prometheus reads them again when they change).\n",
        )
    }
    for job in jobs:
        files["targets/%s.yml" % job["job_name"]] = to_yaml(job["targets"])
    files["rules/mantis.rules.yml"] = to_yaml({"groups": rule_groups})
    files["rules/mantis.rules.test.yml"] = to_yaml(
        {"rule_files": ["mantis.rules.yml"], "evaluation_interval": "1m", "tests": tests},
        "# promtool test rules rules/mantis.rules.test.yml: each alert fires where it must and only there.\n",
    )
    return {"files": files, "warnings": scrape_warnings(hosts)}


class FilterModule(object):
    def filters(self):
        return {"prometheus_files": prometheus_files}
