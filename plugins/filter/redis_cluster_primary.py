# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: redis_cluster_primary
short_description: Which member of a Redis replication group is the primary, from Sentinel first
version_added: 0.1.0
description:
  - Takes what the redis role read from the members of a Redis group (each Sentinel's answer to
    C(SENTINEL GET-MASTER-ADDR-BY-NAME) and each server's answer to C(ROLE), as C(redis-cli) prints them
    between C(@sentinel <member>) and C(@server <member>) marker lines) and decides which member is
    the primary.
  - The running Sentinels decide whenever one of them answers (the most frequent answer; a tie goes to
    the first member's Sentinel in the list's order), so after a failover the primary is the one
    Sentinel promoted, never the inventory's.
  - Without a Sentinel answer, a server that is a primary with at least one replica connected (or that
    replicas name as their primary) is the primary, so a run while the Sentinels are stopped does not
    demote the current primary either.
  - Only when neither exists (the first bootstrap) the inventory's initial primary is taken.
options:
  _input:
    description: The probe's output (marker lines and C(redis-cli) answers).
    type: str
    required: true
  members:
    description: The members, in inventory order, as dicts with C(name) (inventory name) and C(address)
      (the address Sentinel and the replicas use for it).
    type: list
    elements: dict
    required: true
  initial_primary:
    description: Inventory name of the primary on the first bootstrap.
    type: str
    required: true
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Decide the primary
  ansible.builtin.set_fact:
    redis_cluster_state: >-
      {{ redis_cluster_probe.stdout | mantis.datalayer.redis_cluster_primary(members, groups['redis_cluster'][0]) }}
"""

RETURN = r"""
_value:
  description: The decision and what it was made from.
  type: dict
  contains:
    primary: {description: Inventory name of the primary., type: str}
    address: {description: Its address., type: str}
    source: {description: "C(sentinel), C(servers) or C(inventory).", type: str}
    sentinels: {description: "Member name: the address its Sentinel named (null: no answer).", type: dict}
    roles: {description: "Member name: C({role, primary, replicas}) from C(ROLE) (null: no answer).", type: dict}
    agreed: {description: Every Sentinel that answered named the same primary., type: bool}
"""

from collections import Counter

from ansible.errors import AnsibleFilterError


def parse_sections(text):
    """{(kind, member): [lines]} from the probe's output (a line "@kind member" opens a section)."""
    sections = {}
    current = None
    for line in (text or "").splitlines():
        line = line.rstrip("\r")
        if line.startswith("@"):
            words = line[1:].split(" ", 1)
            current = (words[0], words[1].strip() if len(words) > 1 else "")
            sections[current] = []
        elif current is not None:
            sections[current].append(line.strip())
    return sections


def sentinel_answer(lines):
    """The address a Sentinel named, or None (no answer, an error, an unknown master name)."""
    lines = [line for line in lines if line]
    if len(lines) == 2 and lines[1].isdigit():
        return lines[0]
    return None


def server_role(lines):
    """{role, primary, replicas} from the lines of ROLE, or None when the server did not answer."""
    lines = [line for line in lines if line]
    if not lines:
        return None
    if lines[0] == "master":
        # master, offset, then address, port and offset of each replica.
        replicas = [lines[i] for i in range(2, len(lines) - 2, 3)]
        return {"role": "primary", "primary": None, "replicas": replicas}
    if lines[0] == "slave" and len(lines) >= 3:
        return {"role": "replica", "primary": lines[1], "replicas": []}
    return None


def redis_cluster_primary(probe, members, initial_primary):
    if not members:
        raise AnsibleFilterError("redis_cluster_primary: the group has no members")
    names = [member["name"] for member in members]
    if initial_primary not in names:
        raise AnsibleFilterError(
            "redis_cluster_primary: the initial primary %r is not a member of the group (%s)"
            % (initial_primary, ", ".join(names))
        )
    by_address = {}
    for member in members:
        by_address[str(member["address"])] = member["name"]
        by_address.setdefault(member["name"], member["name"])

    sections = parse_sections(probe)
    sentinels = {name: sentinel_answer(sections.get(("sentinel", name), [])) for name in names}
    roles = {name: server_role(sections.get(("server", name), [])) for name in names}
    answers = [sentinels[name] for name in names if sentinels[name] is not None]

    if answers:
        counts = Counter(answers)
        best = max(counts.values())
        address = next(answer for answer in answers if counts[answer] == best)
        if address not in by_address:
            raise AnsibleFilterError(
                "redis_cluster_primary: the Sentinels name %s as the primary, which is not the address of a member "
                "(%s); set redis_cluster_announce_host of each member to the address Sentinel knows it by"
                % (address, ", ".join("%s=%s" % (m["name"], m["address"]) for m in members))
            )
        primary, source = by_address[address], "sentinel"
    else:
        votes = Counter()
        for name in names:
            role = roles[name]
            if role is None:
                continue
            if role["role"] == "primary" and role["replicas"]:
                votes[name] += len(role["replicas"])
            elif role["role"] == "replica" and role["primary"] in by_address:
                votes[by_address[role["primary"]]] += 1
        if votes:
            best = max(votes.values())
            primary = next(name for name in names if votes[name] == best)
            source = "servers"
        else:
            primary, source = initial_primary, "inventory"

    address = next(str(m["address"]) for m in members if m["name"] == primary)
    return {
        "primary": primary,
        "address": address,
        "source": source,
        "sentinels": sentinels,
        "roles": roles,
        "agreed": len(set(answers)) <= 1,
    }


class FilterModule(object):
    def filters(self):
        return {"redis_cluster_primary": redis_cluster_primary}
