"""The list-option helpers shared by the TimescaleDB modules."""

from __future__ import annotations

from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    duplicate_message,
    item_message,
    list_option_spec,
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
