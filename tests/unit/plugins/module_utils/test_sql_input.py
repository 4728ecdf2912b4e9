"""The rules for SQL that users write in options: identifiers and fragments (PostgreSQL's own)."""

from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils.sql_input import (
    SqlInputError,
    check_fragment,
    column_name_and_type,
    name_text,
    parse_identifier,
    parse_qualified_name,
    qualified_name,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sensor_data", ("public", "sensor_data")),
        # Unquoted names fold to lower case, as PostgreSQL folds them.
        ("Sensor_Data", ("public", "sensor_data")),
        ("Metrics.Raw", ("metrics", "raw")),
        ('"Mäß Schema"."Sensör Daten"', ("Mäß Schema", "Sensör Daten")),
        ('public."we""ird"', ("public", 'we"ird')),
        ('"a.b".c', ("a.b", "c")),
        ('"Dotted.Name"', ("public", "Dotted.Name")),
        ("größe", ("public", "größe")),
        ("t$1", ("public", "t$1")),
    ],
)
def test_qualified_names_follow_postgresql(text, expected):
    assert parse_qualified_name(text, "public", "table") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.b.c", r"table: 'a.b.c' has 3 parts"),
        ('"unterminated', r"table: .* unterminated quoted identifier"),
        ('""', r"table: .* empty quoted identifier"),
        ("x; drop table y", r"table: 'x; drop table y' is not an identifier: unexpected ';' after 'x'"),
        ("1table", r"table: '1table' is not an identifier: an unquoted name starts with a letter"),
        ("a.", r"table: 'a.' is not an identifier"),
        ("", r"table: an identifier is required"),
        ("x" * 64, r"longer than PostgreSQL's 63 bytes"),
        ('"' + "ä" * 32 + '"', r"longer than PostgreSQL's 63 bytes"),
    ],
)
def test_bad_names_name_the_option(text, message):
    with pytest.raises(SqlInputError, match=message):
        parse_qualified_name(text, "public", "table")


def test_the_schema_option_follows_the_same_rules():
    assert parse_qualified_name("raw", "Metrics", "table") == ("metrics", "raw")
    with pytest.raises(SqlInputError, match=r"^schema: "):
        parse_qualified_name("raw", "a.b", "table")


def test_single_names_and_quoting():
    assert parse_identifier("Time", "time_column") == "time"
    assert parse_identifier('"Time"', "time_column") == "Time"
    with pytest.raises(SqlInputError, match=r"time_column: 'a.b' must be a single name"):
        parse_identifier("a.b", "time_column")
    assert qualified_name("public", 'we"ird') == '"public"."we""ird"'
    assert name_text("raw") == "raw"
    assert name_text("Mäß Schema") == '"Mäß Schema"'
    assert name_text("Sensor_ID") == '"Sensor_ID"'


@pytest.mark.parametrize(
    "definition",
    [
        "time timestamptz NOT NULL",
        "note text DEFAULT 'a;b'",
        "note text DEFAULT 'it''s; -- not a comment'",
        "note text DEFAULT E'\\';still a string;'",
        "body text DEFAULT $$a; b) -- c$$",
        "body text DEFAULT $tag$ $$ ; $tag$",
        '"odd;name" integer',
        "price numeric(10, 2) CHECK (price > 0)",
        "CONSTRAINT pk PRIMARY KEY (time, sensor_id)",
        "a$b integer",
    ],
)
def test_legal_definitions_pass(definition):
    check_fragment(definition, "columns[0]")


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("time timestamptz NOT NULL); drop table canary; --", r"columns\[0\]: .* closes a parenthesis"),
        ("time timestamptz NOT NULL); COMMIT; drop table canary2; --", r"closes a parenthesis"),
        ("a int; drop table canary", r"columns\[0\]: .* ';' outside quotes"),
        ("a int -- trailing", r"holds a comment"),
        ("a int /* x */", r"holds a comment"),
        ("a int DEFAULT 'open", r"unterminated quoted string"),
        ('"open int', r"unterminated quoted identifier"),
        ("a text DEFAULT $x$never closed", r"unterminated dollar quote \$x\$"),
        ("a numeric(10", r"leaves 1 parenthesis"),
        ("a text DEFAULT E'\\'; drop table x; --", r"unterminated quoted string"),
    ],
)
def test_definitions_that_would_escape_the_statement_are_refused(definition, message):
    with pytest.raises(SqlInputError, match=message):
        check_fragment(definition, "columns[0]")


def test_column_names_and_types_without_a_server():
    assert column_name_and_type("time timestamptz NOT NULL", "c") == ("time", "timestamp with time zone")
    assert column_name_and_type("At TIMESTAMP WITH TIME ZONE", "c") == ("at", "timestamp with time zone")
    assert column_name_and_type('"Zeit" date DEFAULT now()', "c") == ("Zeit", "date")
    assert column_name_and_type("sensor_id int REFERENCES sensors", "c") == ("sensor_id", "integer")
    assert column_name_and_type("PRIMARY KEY (time)", "c") == (None, None)
