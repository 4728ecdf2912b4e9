from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.modules.redis_config import (
    normalize_value,
    parse_config_file,
    plan_config,
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
