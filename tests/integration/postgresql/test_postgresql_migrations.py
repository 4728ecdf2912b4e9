"""mantis.datalayer.postgresql_migrations against a real PostgreSQL 17 server."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from tests.support.ansible_runner import run_module

MODULE = "mantis.datalayer.postgresql_migrations"


@pytest.fixture
def migrations(tmp_path):
    """A migrations directory; write(name, sql) adds or edits a file."""
    directory = tmp_path / "migrations"
    directory.mkdir()

    def write(name, sql):
        (directory / name).write_text(sql)

    write.path = str(directory)
    return write


def run(postgres, database, path, check=False, diff=False, **extra):
    return run_module(MODULE, {**postgres.login, "login_db": database, "path": path, **extra}, check=check, diff=diff)


def rows(postgres, database, sql):
    return postgres.psql(sql, database=database)


def add_first_two(migrations):
    migrations("001_machines.sql", "CREATE TABLE machine (id int PRIMARY KEY, name text NOT NULL);\n")
    migrations("002_machine_code.sql", "ALTER TABLE machine ADD COLUMN code text;\nCREATE INDEX ON machine (code);\n")


def test_check_mode_lists_pending_and_changes_nothing(postgres, database, migrations):
    add_first_two(migrations)
    result = run(postgres, database, migrations.path, check=True, diff=True)
    assert not result.failed, result.output
    assert result.changed
    assert result.result["pending"] == ["001_machines.sql", "002_machine_code.sql"]
    assert result.result["applied"] == []
    assert "-- 001_machines.sql" in result.result["queries"]
    assert result.result["diff"]["before"] == {"applied": []}
    assert result.result["diff"]["after"] == {"applied": ["001_machines.sql", "002_machine_code.sql"]}
    assert rows(postgres, database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0"


def test_apply_records_checksums_and_second_run_changes_nothing(postgres, database, migrations):
    add_first_two(migrations)
    result = run(postgres, database, migrations.path)
    assert not result.failed, result.output
    assert result.changed
    assert result.result["applied"] == ["001_machines.sql", "002_machine_code.sql"]
    assert result.result["version"] == 2
    assert result.result["queries"][0].startswith('CREATE TABLE IF NOT EXISTS "public"."schema_migrations"')
    recorded = rows(
        postgres, database, "SELECT version, name, checksum, applied_at <= now() FROM schema_migrations ORDER BY 1"
    ).splitlines()
    expected_sum = hashlib.sha256(b"CREATE TABLE machine (id int PRIMARY KEY, name text NOT NULL);\n").hexdigest()
    assert recorded[0] == f"1|001_machines.sql|{expected_sum}|t"
    assert recorded[1].startswith("2|002_machine_code.sql|")
    assert (
        rows(postgres, database, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'machine'") == "3"
    )

    again = run(postgres, database, migrations.path, diff=True)
    assert not again.failed, again.output
    assert not again.changed
    assert again.result["pending"] == [] and again.result["queries"] == []
    assert again.result["diff"]["before"] == again.result["diff"]["after"]


def test_rows_survive_a_new_migration(postgres, database, migrations):
    add_first_two(migrations)
    assert not run(postgres, database, migrations.path).failed
    rows(postgres, database, "INSERT INTO machine VALUES (1, 'press 1', 'P-1')")
    migrations("003_machine_site.sql", "ALTER TABLE machine ADD COLUMN site text NOT NULL DEFAULT 'plant-a';\n")
    result = run(postgres, database, migrations.path)
    assert not result.failed, result.output
    assert result.result["applied"] == ["003_machine_site.sql"]
    assert rows(postgres, database, "SELECT id, name, code, site FROM machine") == "1|press 1|P-1|plant-a"


def test_failing_migration_is_rolled_back_and_named_earlier_ones_stay(postgres, database, migrations):
    migrations("001_machines.sql", "CREATE TABLE machine (id int PRIMARY KEY);\n")
    migrations("002_broken.sql", "CREATE TABLE half_done (id int);\nINSERT INTO no_such_table VALUES (1);\n")
    migrations("003_never.sql", "CREATE TABLE never (id int);\n")
    result = run(postgres, database, migrations.path)
    assert result.failed
    msg = result.result["msg"]
    assert "002_broken.sql" in msg
    assert 'relation "no_such_table" does not exist' in msg
    assert "rolled back" in msg
    assert result.result["applied"] == ["001_machines.sql"]
    assert rows(postgres, database, "SELECT name FROM schema_migrations") == "001_machines.sql"
    assert rows(postgres, database, "SELECT to_regclass('machine') IS NOT NULL") == "t"
    assert rows(postgres, database, "SELECT to_regclass('half_done') IS NULL AND to_regclass('never') IS NULL") == "t"

    # Fixing the broken file lets the next run continue where this one stopped.
    migrations("002_broken.sql", "CREATE TABLE half_done (id int);\n")
    fixed = run(postgres, database, migrations.path)
    assert not fixed.failed, fixed.output
    assert fixed.result["applied"] == ["002_broken.sql", "003_never.sql"]


def test_changed_applied_migration_stops_before_anything_changes(postgres, database, migrations):
    add_first_two(migrations)
    assert not run(postgres, database, migrations.path).failed
    before = rows(postgres, database, "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1")
    migrations("001_machines.sql", "CREATE TABLE machine (id bigint PRIMARY KEY, name text);\n")
    migrations("003_more.sql", "CREATE TABLE more (id int);\n")
    result = run(postgres, database, migrations.path, check=False)
    assert result.failed
    assert "001_machines.sql" in result.result["msg"]
    assert "changed since they were applied" in result.result["msg"]
    assert result.result["queries"] == []
    assert rows(postgres, database, "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1") == before
    assert rows(postgres, database, "SELECT to_regclass('more') IS NULL") == "t"
    # The same error in check mode: an operator sees it in the dry run.
    assert run(postgres, database, migrations.path, check=True).failed


def test_target_applies_up_to_a_version(postgres, database, migrations):
    add_first_two(migrations)
    result = run(postgres, database, migrations.path, target=1)
    assert result.result["applied"] == ["001_machines.sql"], result.output
    assert rows(postgres, database, "SELECT count(*) FROM schema_migrations") == "1"


def test_custom_table_and_session_role(postgres, database, migrations):
    rows(postgres, database, "CREATE SCHEMA audit")
    postgres.psql("DO $$BEGIN CREATE ROLE mig_owner NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    rows(postgres, database, "GRANT ALL ON SCHEMA audit, public TO mig_owner")
    add_first_two(migrations)
    result = run(postgres, database, migrations.path, table="audit.history", session_role="mig_owner")
    assert not result.failed, result.output
    assert rows(postgres, database, "SELECT count(*) FROM audit.history") == "2"
    owners = rows(
        postgres, database, "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename IN ('machine', 'history')"
    )
    assert owners == "mig_owner"


def test_concurrent_runs_apply_each_file_once(postgres, database, migrations):
    migrations("001_slow.sql", "SELECT pg_sleep(2);\nCREATE TABLE slow (id int);\n")
    migrations("002_counter.sql", "CREATE TABLE counter (id int);\n")
    results = []

    def one_run():
        results.append(run(postgres, database, migrations.path))

    threads = [threading.Thread(target=one_run) for dummy in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(not r.failed for r in results), [r.output for r in results]
    applied = sorted(name for r in results for name in r.result["applied"])
    assert applied == ["001_slow.sql", "002_counter.sql"]
    assert rows(postgres, database, "SELECT count(*) FROM schema_migrations") == "2"


def test_inline_migrations_apply_and_match_the_same_files(postgres, database, migrations):
    """Inline text (as the role hands it over) and files with the same content are one history."""
    add_first_two(migrations)
    first = run(postgres, database, migrations.path, target=1)
    assert first.changed and first.result["applied"] == ["001_machines.sql"], first.output
    files = {p.name: p.read_text() for p in sorted(Path(migrations.path).iterdir())}
    inline = run_module(MODULE, {**postgres.login, "login_db": database, "migrations": files}, check=True)
    assert inline.changed and inline.result["pending"] == ["002_machine_code.sql"], inline.output
    applied = run_module(MODULE, {**postgres.login, "login_db": database, "migrations": files})
    assert applied.changed and applied.result["applied"] == ["002_machine_code.sql"], applied.output
    versions = "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"
    assert rows(postgres, database, versions) == "1,2"
    assert not run(postgres, database, migrations.path).changed
    again = run_module(MODULE, {**postgres.login, "login_db": database, "migrations": files})
    assert not again.changed, again.output
    files["001_machines.sql"] += "-- edited\n"
    edited = run_module(MODULE, {**postgres.login, "login_db": database, "migrations": files})
    assert edited.failed and "001_machines.sql" in edited.result["msg"], edited.output


def test_path_and_migrations_together_are_refused(postgres, database, migrations):
    add_first_two(migrations)
    result = run(postgres, database, migrations.path, migrations={"001_x.sql": "SELECT 1;"})
    assert result.failed
    assert "mutually exclusive: path|migrations" in result.result["msg"]


def test_bad_file_name_is_reported(postgres, database, migrations):
    migrations("V1__init.sql", "SELECT 1;\n")
    result = run(postgres, database, migrations.path)
    assert result.failed
    assert "V1__init.sql" in result.result["msg"]


def test_password_never_appears_in_output(postgres, database, migrations):
    add_first_two(migrations)
    outputs = [run(postgres, database, migrations.path, check=True, diff=True).output]
    outputs.append(run(postgres, database, migrations.path, diff=True).output)
    migrations("003_broken.sql", "SELECT * FROM nowhere;\n")
    outputs.append(run(postgres, database, migrations.path).output)
    wrong = run_module(
        MODULE,
        {**postgres.login, "login_password": "not-" + postgres.password, "login_db": database, "path": migrations.path},
    )
    assert wrong.failed and "password authentication failed" in wrong.result["msg"]
    outputs.append(wrong.output)
    for output in outputs:
        assert postgres.password not in output


def test_refusals_name_the_options_that_decide_them(postgres, database, migrations):
    add_first_two(migrations)
    wrong = run(postgres, database, migrations.path, login_password="not-the-password")
    assert wrong.result["msg"].startswith("login_user, login_password: Cannot connect to database")
    missing = run(postgres, "it_no_such_database", migrations.path)
    assert missing.result["msg"].startswith("login_db: Cannot connect to database 'it_no_such_database'")

    # A login role without CREATE on schema public (PostgreSQL 15 and newer grant none by default).
    postgres.psql("DROP ROLE IF EXISTS it_weak; CREATE ROLE it_weak LOGIN PASSWORD 'it-weak-pw-7f3a'")
    weak = run(postgres, database, migrations.path, login_user="it_weak", login_password="it-weak-pw-7f3a")
    assert weak.failed
    message = weak.result["msg"]
    assert message.startswith("path: migration 001_machines.sql failed and was rolled back: permission denied")
    assert "login_user 'it_weak' lacks the privilege" in message
    assert "it-weak-pw-7f3a" not in weak.output
