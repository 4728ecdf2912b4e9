from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.modules.postgresql_migrations import (
    MigrationError,
    check_target,
    file_checksum,
    inline_migrations,
    migration_files,
    plan_migrations,
    read_files,
    split_table_name,
)


def migration(version, name, checksum=None):
    return {"version": version, "name": name, "checksum": checksum or "sum-%s" % name}


FILES = [migration(1, "001_a.sql"), migration(2, "002_b.sql"), migration(10, "010_c.sql")]


def test_everything_is_pending_on_an_empty_database():
    assert [f["name"] for f in plan_migrations(FILES, [])] == ["001_a.sql", "002_b.sql", "010_c.sql"]


def test_applied_files_are_not_pending():
    assert [f["name"] for f in plan_migrations(FILES, FILES[:2])] == ["010_c.sql"]


def test_nothing_pending_when_all_applied():
    assert plan_migrations(FILES, FILES) == []


def test_target_stops_at_the_given_version():
    assert [f["name"] for f in plan_migrations(FILES, [], target=2)] == ["001_a.sql", "002_b.sql"]


def test_changed_applied_file_fails_naming_file_and_both_checksums():
    applied = [migration(1, "001_a.sql", "old")]
    files = [migration(1, "001_a.sql", "new"), migration(2, "002_b.sql")]
    with pytest.raises(MigrationError) as err:
        plan_migrations(files, applied)
    text = str(err.value)
    assert "001_a.sql" in text and "old" in text and "new" in text
    assert "Nothing was changed" in text


def test_changed_file_fails_even_beyond_target():
    with pytest.raises(MigrationError):
        plan_migrations([migration(1, "001_a.sql", "new")], [migration(1, "001_a.sql", "old")], target=0)


def test_out_of_order_file_fails_unless_allowed():
    applied = [FILES[0], FILES[2]]
    with pytest.raises(MigrationError) as err:
        plan_migrations(FILES, applied)
    assert "002_b.sql" in str(err.value) and "010_c.sql" in str(err.value)
    assert [f["name"] for f in plan_migrations(FILES, applied, allow_out_of_order=True)] == ["002_b.sql"]


def test_applied_rows_without_a_file_are_left_alone():
    assert plan_migrations(FILES[1:], FILES[:2]) == [FILES[2]]


def test_files_are_ordered_by_numeric_version(tmp_path):
    for name in ("10_later.sql", "2_early.sql", "README.md", "001_first.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    assert [f["name"] for f in migration_files(str(tmp_path))] == ["001_first.sql", "2_early.sql", "10_later.sql"]


def test_badly_named_sql_file_is_an_error(tmp_path):
    (tmp_path / "V1__init.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"V1__init\.sql"):
        migration_files(str(tmp_path))


def test_duplicate_versions_are_an_error(tmp_path):
    (tmp_path / "001_a.sql").write_text("")
    (tmp_path / "1_b.sql").write_text("")
    with pytest.raises(MigrationError, match="same version 1"):
        migration_files(str(tmp_path))


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(MigrationError, match="not a directory"):
        migration_files(str(tmp_path / "nope"))


def test_inline_migrations_are_ordered_and_checksummed_like_the_same_files(tmp_path):
    sql = {"10_later.sql": "SELECT 10;\n", "2_early.sql": "SELECT 2;\n\n", "001_first.sql": "-- é\nSELECT 1;"}
    for name, text in sql.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    inline = inline_migrations(sql)
    assert [m["name"] for m in inline] == ["001_first.sql", "2_early.sql", "10_later.sql"]
    from_files = {m["name"]: m["checksum"] for m in read_files(str(tmp_path))}
    assert {m["name"]: m["checksum"] for m in inline} == from_files
    assert inline[1]["content"] == "SELECT 2;\n\n"


def test_inline_migration_names_follow_the_file_rules():
    with pytest.raises(MigrationError, match=r"notes\.txt in migrations is not named"):
        inline_migrations({"001_a.sql": "", "notes.txt": ""})
    with pytest.raises(MigrationError, match=r"have the same version 1$"):
        inline_migrations({"001_a.sql": "", "1_b.sql": ""})


def test_inline_migration_text_must_be_a_string():
    with pytest.raises(MigrationError, match=r"migrations: the value of 001_a\.sql must be the SQL text"):
        inline_migrations({"001_a.sql": ["SELECT 1"]})


def test_checksum_is_sha256_of_the_bytes():
    assert file_checksum(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    "table,expected",
    [
        ("schema_migrations", ("public", "schema_migrations")),
        ("audit.history", ("audit", "history")),
        # The same rules as every SQL module: unquoted parts fold, quoted ones keep case and characters.
        ("Audit.History", ("audit", "history")),
        ('"Audit Log"."Schema.Migrations"', ("Audit Log", "Schema.Migrations")),
    ],
)
def test_table_names(table, expected):
    assert split_table_name(table) == expected


@pytest.mark.parametrize("table", ["a.b.c", "", "x;drop", "bad name", ".x"])
def test_bad_table_names(table):
    with pytest.raises(MigrationError, match=r"^table: "):
        split_table_name(table)


def test_a_negative_target_is_refused():
    check_target(0)
    check_target(3)
    check_target(None)
    with pytest.raises(MigrationError, match=r"^target: -1 is not a migration version"):
        check_target(-1)
