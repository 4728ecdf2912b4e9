from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mantis.datalayer.plugins.filter.redis_cluster_primary import (
    redis_cluster_primary,
    server_role,
)

MEMBERS = [
    {"name": "r1", "address": "r1.plant"},
    {"name": "r2", "address": "r2.plant"},
    {"name": "r3", "address": "10.0.0.3"},
]


def probe(sentinels=None, servers=None):
    lines = []
    for name, answer in (sentinels or {}).items():
        lines += ["@sentinel " + name, *answer]
    for name, answer in (servers or {}).items():
        lines += ["@server " + name, *answer]
    return "\n".join(lines) + "\n"


MASTER_WITH_TWO = ["master", "1200", "r1.plant", "6380", "1200", "10.0.0.3", "6380", "1190"]


def test_first_bootstrap_takes_the_inventory():
    text = probe(
        sentinels={"r1": ["Could not connect to Redis at r1.plant:26379: Connection refused"], "r2": [""], "r3": []},
        servers={"r1": ["master", "0"], "r2": ["master", "0"], "r3": ["master", "0"]},
    )
    state = redis_cluster_primary(text, MEMBERS, "r2")
    assert state["primary"] == "r2"
    assert state["address"] == "r2.plant"
    assert state["source"] == "inventory"
    assert state["sentinels"] == {"r1": None, "r2": None, "r3": None}


def test_sentinel_wins_over_the_inventory_after_a_failover():
    answer = ["r2.plant", "6380"]
    text = probe(
        sentinels={"r1": answer, "r2": answer, "r3": answer},
        servers={"r1": ["slave", "r2.plant", "6380", "connected", "10"], "r2": MASTER_WITH_TWO},
    )
    state = redis_cluster_primary(text, MEMBERS, "r1")
    assert (state["primary"], state["source"], state["agreed"]) == ("r2", "sentinel", True)


def test_sentinel_answer_by_ip_address_maps_to_the_member():
    text = probe(sentinels={"r1": ["10.0.0.3", "6380"]})
    assert redis_cluster_primary(text, MEMBERS, "r1")["primary"] == "r3"


def test_the_most_frequent_sentinel_answer_wins_and_disagreement_is_reported():
    text = probe(sentinels={"r1": ["r1.plant", "6380"], "r2": ["r2.plant", "6380"], "r3": ["r2.plant", "6380"]})
    state = redis_cluster_primary(text, MEMBERS, "r1")
    assert state["primary"] == "r2"
    assert state["agreed"] is False


def test_other_sections_do_not_leak_into_a_server_answer():
    text = probe(servers={"r1": ["master", "0"]}) + "@keys\n3\n"
    role = redis_cluster_primary(text, MEMBERS, "r1")["roles"]["r1"]
    assert role == {"role": "primary", "primary": None, "replicas": []}


def test_errors_from_a_sentinel_are_no_answer():
    text = probe(
        sentinels={
            "r1": ["NOAUTH Authentication required."],
            "r2": ["WRONGPASS invalid username-password pair or user is disabled."],
            "r3": ["r3.plant"],
        },
        servers={"r1": ["master", "0"]},
    )
    state = redis_cluster_primary(text, MEMBERS, "r1")
    assert state["source"] == "inventory"


def test_without_sentinels_a_primary_with_replicas_is_kept():
    text = probe(
        servers={
            "r1": ["master", "0"],
            "r2": ["slave", "10.0.0.3", "6380", "connected", "5"],
            "r3": ["master", "100", "r2.plant", "6380", "100"],
        }
    )
    state = redis_cluster_primary(text, MEMBERS, "r1")
    assert (state["primary"], state["source"]) == ("r3", "servers")


def test_unknown_sentinel_address_fails_with_the_members():
    text = probe(sentinels={"r1": ["172.18.0.9", "6380"]})
    with pytest.raises(AnsibleFilterError, match=r"172\.18\.0\.9.*redis_cluster_announce_host"):
        redis_cluster_primary(text, MEMBERS, "r1")


def test_initial_primary_must_be_a_member():
    with pytest.raises(AnsibleFilterError, match="not a member"):
        redis_cluster_primary("", MEMBERS, "elsewhere")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], None),
        (["NOAUTH Authentication required."], None),
        (["master", "0"], {"role": "primary", "primary": None, "replicas": []}),
        (MASTER_WITH_TWO, {"role": "primary", "primary": None, "replicas": ["r1.plant", "10.0.0.3"]}),
        (["slave", "r1.plant", "6380", "sync", "-1"], {"role": "replica", "primary": "r1.plant", "replicas": []}),
    ],
)
def test_server_role(lines, expected):
    assert server_role(lines) == expected
