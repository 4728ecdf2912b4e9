"""The list-option helpers shared by the TimescaleDB modules."""

from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    duplicate_message,
    item_message,
    list_option_spec,
    read_community_batch,
    top_level_options,
)

OPTIONS = {"table": {"type": "str", "required": True}, "schema": {"type": "str", "default": "public"}}


def test_item_message_names_the_entry_and_the_option():
    assert item_message("hypertables", 2, "chunk_time_interval: '1 fortnight' is not a duration") == (
        "hypertables[2].chunk_time_interval: '1 fortnight' is not a duration"
    )
    assert item_message("policies", 0, "table public.x already holds rows") == (
        "policies[0]: table public.x already holds rows"
    )


def test_duplicate_message_points_at_the_first_entry():
    assert duplicate_message("hypertables", "table", ["public.a", "public.b"]) is None
    assert duplicate_message("hypertables", "table", ["public.a", "public.b", "public.a"]) == (
        "hypertables[2].table: public.a is also hypertables[0]; list each object once"
    )


def test_list_and_top_level_specs_share_the_options_without_sharing_objects():
    listed = list_option_spec(OPTIONS, required_together=[("a", "b")])
    assert listed["type"] == "list" and listed["elements"] == "dict"
    assert listed["options"]["table"]["required"] is True
    assert listed["required_together"] == [("a", "b")]
    top = top_level_options(OPTIONS)
    assert "required" not in top["table"]
    assert top["schema"]["default"] == "public"
    assert OPTIONS["table"]["required"] is True  # the shared definition is not modified


class FakeModule:
    """Just what read_community_batch uses of AnsibleModule; fail_json raises like exit does."""

    class Failed(Exception):
        pass

    def __init__(self, unsupported_edition):
        self.params = {"unsupported_edition": unsupported_edition}
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, **result):
        raise self.Failed(result)


class FakeSession:
    class conn:  # stands in for the psycopg2 connection
        @staticmethod
        def close():
            pass


def entries():
    return [
        {"state": "present", "feature": "retention policy on public.a", "name": "a"},
        {"state": "absent", "feature": "retention policy on public.b", "name": "b"},
        {"state": "absent", "feature": "retention policy on public.c", "name": "c"},
    ]


def read(entry):
    # b still has its policy job, c has none
    return {"job": 1000 if entry["name"] == "b" else None}


def exists(current):
    return current["job"] is not None


def test_apache_edition_fail_names_every_entry_it_cannot_serve():
    module = FakeModule("fail")
    with pytest.raises(FakeModule.Failed) as failed:
        read_community_batch(module, FakeSession(), {"edition": "apache"}, "policies", entries(), read, exists, ())
    message = failed.value.args[0]["msg"]
    assert "retention policy on public.a, retention policy on public.b need the TimescaleDB community" in message
    assert "public.c" not in message
    assert failed.value.args[0]["queries"] == []


def test_apache_edition_skip_warns_per_entry_and_keeps_the_rest():
    module = FakeModule("skip")
    batch = entries()
    skipped = read_community_batch(module, FakeSession(), {"edition": "apache"}, "policies", batch, read, exists, ())
    assert skipped == [0, 1]
    assert [w.split(" needs")[0] for w in module.warnings] == [
        "Skipped: policies[0]: retention policy on public.a",
        "Skipped: policies[1]: retention policy on public.b",
    ]
    # present entries are not even read on an edition that cannot serve them
    assert batch[0]["current"] is None
    assert batch[2]["current"] == {"job": None}


def test_community_edition_reads_everything_and_skips_nothing():
    module = FakeModule("fail")
    batch = entries()
    assert (
        read_community_batch(module, FakeSession(), {"edition": "timescale"}, "policies", batch, read, exists, ()) == []
    )
    assert [entry["current"] for entry in batch] == [{"job": None}, {"job": 1000}, {"job": None}]
    assert module.warnings == []


def test_a_read_error_names_the_entry():
    class Missing(Exception):
        pass

    def broken(entry):
        if entry["name"] == "c":
            raise Missing("relation: public.c is neither a hypertable nor a continuous aggregate")
        return {"job": None}

    with pytest.raises(FakeModule.Failed) as failed:
        read_community_batch(
            FakeModule("fail"),
            FakeSession(),
            {"edition": "timescale"},
            "policies",
            entries(),
            broken,
            exists,
            (Missing,),
        )
    assert failed.value.args[0]["msg"].startswith("policies[2].relation: public.c is neither")
