# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQL that users write in module options: identifiers, and fragments placed into statements.

One set of rules for every SQL module, PostgreSQL's own (the lexer, scan.l, and
downcase_identifier in scansup.c):

* An identifier is ``name`` or ``schema.name``. A quoted part (``"Sensör Daten"``) keeps its
  case and may hold dots, spaces, doubled quotes (``"we""ird"``) and any character; an
  unquoted part starts with a letter, ``_`` or a non-ASCII character, goes on with those,
  digits and ``$``, and is folded to lower case (ASCII letters only, as PostgreSQL folds
  them in UTF-8 databases): ``Sensor_Data`` names the table ``sensor_data``.
* A fragment (a column definition, a query) is checked with a tokenizer that knows quoted
  strings (``'a;b'``, ``E'\\''``), quoted identifiers, dollar quotes (``$$...$$``,
  ``$fn$...$fn$``) and comments, so that what it places into a statement can never end that
  statement (``;``), close its parentheses early, or comment out the rest of it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# PostgreSQL's NAMEDATALEN - 1: longer names are truncated by the server, so that the name a
# module compares would not be the name the server keeps.
MAX_IDENTIFIER_BYTES = 63

_IDENT_START = re.compile(r"[A-Za-z_\x80-\U0010ffff]")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\U0010ffff]")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")


class SqlInputError(ValueError):
    """Input that would not be read as the single identifier or fragment it is meant to be.

    The message starts with the option it is about (``table: ...``).
    """


def _fold(part):
    """PostgreSQL's downcase_identifier for UTF-8: ASCII letters only."""
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in part)


def identifier_parts(text, option):
    """The parts of a dotted identifier as PostgreSQL reads them (unquoted ones folded)."""
    if not isinstance(text, str) or not text.strip():
        raise SqlInputError("%s: an identifier is required, got %r" % (option, text))
    parts = []
    position, length = 0, len(text)
    while True:
        if position < length and text[position] == '"':
            end = position + 1
            part = []
            while True:
                if end >= length:
                    raise SqlInputError("%s: %r has an unterminated quoted identifier" % (option, text))
                if text[end] == '"':
                    if end + 1 < length and text[end + 1] == '"':
                        part.append('"')
                        end += 2
                        continue
                    break
                part.append(text[end])
                end += 1
            name = "".join(part)
            if not name:
                raise SqlInputError("%s: %r has an empty quoted identifier" % (option, text))
            position = end + 1
        else:
            if position >= length or not _IDENT_START.match(text[position]):
                raise SqlInputError(
                    "%s: %r is not an identifier: an unquoted name starts with a letter or _ "
                    '(quote it, as in "2nd table", to use other characters)' % (option, text)
                )
            end = position + 1
            while end < length and _IDENT_CHAR.match(text[end]):
                end += 1
            name = _fold(text[position:end])
            position = end
        if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
            raise SqlInputError(
                "%s: %r is longer than PostgreSQL's %d bytes (the server would truncate it)"
                % (option, name, MAX_IDENTIFIER_BYTES)
            )
        parts.append(name)
        if position == length:
            return parts
        if text[position] != ".":
            raise SqlInputError(
                "%s: %r is not an identifier: unexpected %r after %r (quote names that hold spaces, "
                "quotes or other characters)" % (option, text, text[position], name)
            )
        position += 1


def parse_identifier(text, option):
    """One unqualified identifier (a column, a schema), as PostgreSQL reads it."""
    parts = identifier_parts(text, option)
    if len(parts) != 1:
        raise SqlInputError("%s: %r must be a single name, not a qualified one" % (option, text))
    return parts[0]


def parse_qualified_name(text, default_schema, option, schema_option="schema"):
    """(schema, name) of ``name`` or ``schema.name``; ``default_schema`` (an option's value) otherwise."""
    parts = identifier_parts(text, option)
    if len(parts) > 2:
        raise SqlInputError(
            "%s: %r has %d parts; give <name> or <schema>.<name> (quote a part that holds a dot)"
            % (option, text, len(parts))
        )
    if len(parts) == 2:
        return parts[0], parts[1]
    return parse_identifier(default_schema, schema_option), parts[0]


def quote_ident(name):
    """A SQL identifier, always double-quoted (so case and odd characters survive)."""
    return '"%s"' % name.replace('"', '""')


def qualified_name(schema, name):
    return "%s.%s" % (quote_ident(schema), quote_ident(name))


def name_text(name):
    """A name as a user would write it in SQL: quoted only where PostgreSQL needs it (case, characters)."""
    return name if re.match(r"^[a-z_][a-z0-9_$]*$", name) else quote_ident(name)


def check_fragment(text, option):
    """Raise SqlInputError unless ``text`` is one piece of a statement that cannot escape it.

    Refused: a ``;`` outside quotes (a second statement), a ``)`` that closes more than the
    fragment opened, anything left open at its end (quote, dollar quote, parenthesis), and
    comments (they would swallow what the module writes after the fragment).
    """
    depth = 0
    position, length = 0, len(text)
    while position < length:
        ch = text[position]
        if ch == "'":
            escapes = (
                position > 0
                and text[position - 1] in "eE"
                and (position == 1 or not _IDENT_CHAR.match(text[position - 2]))
            )
            position = _end_of_string(text, position, escapes, option)
            continue
        if ch == '"':
            end = position + 1
            while True:
                end = text.find('"', end)
                if end < 0:
                    raise SqlInputError("%s: %r has an unterminated quoted identifier" % (option, text))
                if text[end + 1 : end + 2] == '"':
                    end += 2
                    continue
                break
            position = end + 1
            continue
        if ch == "$" and (position == 0 or not _IDENT_CHAR.match(text[position - 1])):
            tag = _DOLLAR_TAG.match(text, position)
            if tag:
                end = text.find(tag.group(0), tag.end())
                if end < 0:
                    raise SqlInputError("%s: %r has an unterminated dollar quote %s" % (option, text, tag.group(0)))
                position = end + len(tag.group(0))
                continue
        if text.startswith("--", position) or text.startswith("/*", position):
            raise SqlInputError(
                "%s: %r holds a comment; remove it (a comment would swallow what follows in the statement)"
                % (option, text)
            )
        if ch == ";":
            raise SqlInputError(
                "%s: %r holds a ';' outside quotes; give one definition without statement separators" % (option, text)
            )
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SqlInputError("%s: %r closes a parenthesis it did not open; give one definition" % (option, text))
        position += 1
    if depth:
        raise SqlInputError("%s: %r leaves %d parenthesis(es) open" % (option, text, depth))


def _end_of_string(text, start, escapes, option):
    """The position after the string literal that starts at ``start`` (a quote)."""
    position = start + 1
    while True:
        if position >= len(text):
            raise SqlInputError("%s: %r has an unterminated quoted string" % (option, text))
        ch = text[position]
        if escapes and ch == "\\":
            position += 2
            continue
        if ch == "'":
            if text[position + 1 : position + 2] == "'":
                position += 2
                continue
            return position + 1
        position += 1


def column_name_and_type(definition, option):
    """(name, type as written, lower case) of a column definition; (None, None) for a table constraint.

    Used where nothing may be executed (check mode) to tell what CREATE TABLE would make.
    """
    check_fragment(definition, option)
    text = definition.strip()
    first = re.match(r'("(?:[^"]|"")*"|[^\s(]+)', text)
    word = first.group(1) if first else ""
    if word.upper() in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE", "LIKE"):
        return None, None
    name = parse_identifier(word, option)
    rest = text[first.end() :].strip()
    # The type runs up to the first column constraint keyword.
    stop = re.search(
        r"\b(NOT\s+NULL|NULL|DEFAULT|CONSTRAINT|PRIMARY|UNIQUE|CHECK|REFERENCES|GENERATED|COLLATE)\b",
        rest,
        re.IGNORECASE,
    )
    column_type = re.sub(r"\s+", " ", (rest[: stop.start()] if stop else rest).strip()).lower()
    return name, TYPE_ALIASES.get(column_type, column_type)


# The names format_type() reports for the spellings users write.
TYPE_ALIASES = {
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "float8": "double precision",
    "float4": "real",
    "bool": "boolean",
}
