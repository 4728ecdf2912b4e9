"""The driver the three TimescaleDB modules share (run_objects), with a fake server."""

from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils import timescaledb
from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    PlanError,
    TimescaleObjects,
    run_objects,
)


class Ended(Exception):
    """exit_json or fail_json was called: the module run ends there, as in AnsibleModule."""

    def __init__(self, failed, result):
        super().__init__(result)
        self.failed = failed
        self.result = result


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = dict({"unsupported_edition": "fail", "login_db": "db", "policies": None}, **params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def exit_json(self, **result):
        raise Ended(False, result)

    def fail_json(self, **result):
        raise Ended(True, result)


class FakeConnection:
    def __init__(self):
        self.autocommit = False
        self.events = []

    def commit(self):
        self.events.append("commit")

    def rollback(self):
        self.events.append("rollback")

    def close(self):
        self.events.append("close")


class FakeSession:
    """Records statements like SqlSession; a statement containing 'boom' fails on the server."""

    def __init__(self, module):
        self.module = module
        self.conn = FakeConnection()
        self.queries = []
        self.executed = []

    def execute(self, sql, params=None):
        self.queries.append(sql)
        if self.module.check_mode:
            return
        if "boom" in sql:
            raise RuntimeError("server says no")
        self.executed.append((sql, self.conn.autocommit))


class Jobs(TimescaleObjects):
    """A stand-in module: 'jobs' on named relations; the server holds SERVER."""

    list_option = "policies"
    name_option = "relation"
    result_key = "policy"
    noun = "policy"

    def __init__(self, server):
        self.server = server
        self.read_names = []

    def desired(self, options, params):
        if options.get("every") == "fortnightly":
            raise PlanError("every: 'fortnightly' is not a duration")
        return {
            "label": "public." + options["relation"],
            "state": options.get("state", "present"),
            "feature": "job on public." + options["relation"] if options.get("community", True) else None,
            "every": options.get("every", "1d"),
        }

    def read(self, session, desired):
        self.read_names.append(desired["label"])
        if desired["label"] == "public.missing":
            raise PlanError("relation: public.missing is not a hypertable")
        return self.server.get(desired["label"])

    def plan(self, current, desired):
        if desired["every"] == "never":
            raise PlanError("every: cannot be never")
        if desired["state"] == "absent":
            return ([{"drop": desired["label"]}] if current else []), None
        if current == desired["every"]:
            return [], current
        return [{"set": desired["every"]}], desired["every"]

    def statements(self, actions, desired):
        return [("SET %s %s" % (desired["label"], action.get("set", "drop")), None) for action in actions]

    def finish(self, session, desired, actions, after):
        if desired["every"] == "after":
            session.execute("CALL refresh(%s)" % desired["label"])

    def describe(self, desired, state):
        return {} if state is None else {"every": state}


@pytest.fixture
def server(monkeypatch):
    """The fake server: relation label -> its job's interval; the run's session is kept in sessions."""
    state = {"public.a": "1d", "public.b": "7d"}
    sessions = []

    def session_for(module):
        sessions.append(FakeSession(module))
        return sessions[-1], {"edition": state.pop("edition", "timescale")}

    monkeypatch.setattr(timescaledb, "timescale_session", session_for)
    state["sessions"] = sessions
    return state


def run(kind, check_mode=False, diff=False, **params):
    with pytest.raises(Ended) as ended:
        run_objects(FakeModule(params, check_mode, diff), kind)
    return ended.value


def test_one_object_is_a_list_of_one_with_its_own_result_key_and_diff(server):
    ended = run(Jobs(server), diff=True, relation="a", every="12h")
    assert not ended.failed
    assert ended.result["changed"] is True
    assert ended.result["policy"] == {"every": "12h"}
    assert ended.result["queries"] == ["SET public.a 12h"]
    assert ended.result["diff"] == {"before": {"every": "1d"}, "after": {"every": "12h"}}
    assert "results" not in ended.result
    assert server["sessions"][0].conn.events == ["commit", "close"]


def test_a_list_is_planned_whole_and_applied_in_one_transaction(server):
    entries = [{"relation": "a", "every": "1d"}, {"relation": "b", "every": "1d"}, {"relation": "c", "every": "2d"}]
    ended = run(Jobs(server), diff=True, policies=entries)
    results = ended.result["results"]
    assert [r["changed"] for r in results] == [False, True, True]
    assert [r["queries"] for r in results] == [[], ["SET public.b 1d"], ["SET public.c 2d"]]
    assert ended.result["queries"] == ["SET public.b 1d", "SET public.c 2d"]
    assert ended.result["diff"]["before"] == {"public.a": {"every": "1d"}, "public.b": {"every": "7d"}, "public.c": {}}
    session = server["sessions"][0]
    assert [autocommit for _sql, autocommit in session.executed] == [False, False]
    assert session.conn.events == ["commit", "close"]


def test_check_mode_records_the_statements_and_runs_none(server):
    ended = run(Jobs(server), check_mode=True, policies=[{"relation": "b", "every": "after"}])
    assert ended.result["changed"] is True
    assert ended.result["results"][0]["queries"] == ["SET public.b after", "CALL refresh(public.b)"]
    assert server["sessions"][0].executed == []


def test_work_after_the_transaction_runs_in_autocommit_and_is_recorded_with_its_entry(server):
    ended = run(Jobs(server), policies=[{"relation": "a", "every": "after"}, {"relation": "b", "every": "7d"}])
    assert ended.result["results"][0]["queries"] == ["SET public.a after", "CALL refresh(public.a)"]
    assert server["sessions"][0].executed == [("SET public.a after", False), ("CALL refresh(public.a)", True)]


def test_a_failing_statement_rolls_back_every_entry_and_names_its_entry(server):
    entries = [{"relation": "a", "every": "2d"}, {"relation": "b", "every": "boom"}]
    ended = run(Jobs(server), policies=entries)
    assert ended.failed
    assert ended.result["msg"] == (
        "policies[1]: changing policy public.b failed: server says no (the whole batch was rolled back; "
        "nothing was changed)"
    )
    assert server["sessions"][0].conn.events[:1] == ["rollback"]


def test_a_failing_statement_of_one_object_names_the_object(server):
    ended = run(Jobs(server), relation="b", every="boom")
    assert ended.result["msg"] == "Changing policy public.b failed: server says no"


def test_errors_name_the_entry_and_the_option_in_a_list_and_only_the_option_alone(server):
    assert run(Jobs(server), policies=[{"relation": "a"}, {"relation": "b", "every": "fortnightly"}]).result["msg"] == (
        "policies[1].every: 'fortnightly' is not a duration"
    )
    assert (
        run(Jobs(server), relation="b", every="fortnightly").result["msg"] == "every: 'fortnightly' is not a duration"
    )
    assert run(Jobs(server), policies=[{"relation": "a"}, {"relation": "missing"}]).result["msg"] == (
        "policies[1].relation: public.missing is not a hypertable"
    )
    assert run(Jobs(server), policies=[{"relation": "a", "every": "never"}]).result["msg"] == (
        "policies[0].every: cannot be never"
    )
    assert run(Jobs(server), policies=[{"relation": "a"}, {"relation": "a"}]).result["msg"] == (
        "policies[1].relation: public.a is also policies[0]; list each object once"
    )
    # Nothing ran in any of them.
    assert all(session.executed == [] for session in server["sessions"])


def test_apache_fail_names_every_entry_before_anything_changes(server):
    server["edition"] = "apache"
    kind = Jobs(server)
    entries = [
        {"relation": "a", "every": "2d"},
        {"relation": "b", "state": "absent"},
        {"relation": "c", "state": "absent"},
        {"relation": "plain", "community": False, "every": "2d"},
    ]
    ended = run(kind, policies=entries)
    assert ended.failed
    assert ended.result["msg"].startswith(
        "job on public.a, job on public.b need the TimescaleDB community edition (timescaledb.license = 'timescale'), "
        'but this server runs the "apache" edition'
    )
    assert ended.result["queries"] == []
    # An entry to create is not even read on an edition that cannot serve it; one to remove is (it may not exist).
    assert kind.read_names == ["public.b", "public.c", "public.plain"]
    assert server["sessions"][0].executed == []


def test_apache_skip_warns_per_entry_and_applies_the_rest(server):
    server["edition"] = "apache"
    entries = [{"relation": "a", "every": "2d"}, {"relation": "plain", "community": False, "every": "2d"}]
    module = FakeModule({"unsupported_edition": "skip", "policies": entries})
    with pytest.raises(Ended) as ended:
        run_objects(module, Jobs(server))
    result = ended.value.result
    assert [(r["skipped"], r["changed"]) for r in result["results"]] == [(True, False), (False, True)]
    assert result["skipped_features"] == ["job on public.a"]
    assert result["queries"] == ["SET public.plain 2d"]
    assert [w.split(" need")[0] for w in module.warnings] == ["Skipped: policies[0]: job on public.a"]


def test_apache_skip_of_one_object_reports_it_as_it_is(server, monkeypatch):
    server["edition"] = "apache"
    module = FakeModule({"relation": "b", "state": "absent", "unsupported_edition": "skip"}, diff=True)
    with pytest.raises(Ended) as ended:
        run_objects(module, Jobs(server))
    result = ended.value.result
    assert result["changed"] is False
    assert result["skipped_features"] == ["job on public.b"]
    assert result["policy"] == {"every": "7d"}
    assert result["diff"] == {"before": {"every": "7d"}, "after": {"every": "7d"}}
    assert module.warnings == [
        "Skipped: " + timescaledb.unsupported_feature_message("apache", ["job on public.b"]),
    ]
