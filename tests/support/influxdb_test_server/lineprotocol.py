"""Line protocol, parsed the way InfluxDB 2 parses the body of ``POST /api/v2/write``.

Follows ``models/points.go`` (``ParsePointsWithPrecision``, ``parsePoint`` and the
scanners it uses) at v2.7.11 and v2.9.1 for what clients send: a measurement, tags
and fields with backslash escapes, double-quoted string fields that may hold spaces,
commas, equals signs and escaped quotes, integer (``i``), unsigned (``u``), float and
boolean fields, an optional timestamp in the request's precision, comment and blank
lines. A malformed line makes the whole request fail with every bad line listed as
``unable to parse '<line>': <reason>`` (one per line), as the server does; nothing of
such a request is stored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

PRECISION_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
_BOOLEANS = {
    "t": True,
    "T": True,
    "true": True,
    "True": True,
    "TRUE": True,
    "f": False,
    "F": False,
    "false": False,
    "False": False,
    "FALSE": False,
}
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class LineProtocolError(ValueError):
    """One or more lines that do not parse; the message is the server's."""


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: tuple  # ((key, value), ...) sorted by key, as the server keys a series
    fields: tuple  # ((key, type, value), ...) type: float, integer, unsigned, string, boolean
    time: int | None  # nanoseconds since the epoch, None for "the server's time"


def split_lines(text):
    """Lines of a request body; a newline inside a quoted field value does not end a line."""
    lines, current, quoted, escaped, past_key = [], [], False, False, False
    for char in text:
        if char == "\n" and not quoted:
            lines.append("".join(current))
            current, escaped, past_key = [], False, False
            continue
        current.append(char)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == " " and not quoted:
            past_key = True
        elif char == '"' and past_key:
            quoted = not quoted
    lines.append("".join(current))
    return lines


def parse(text, precision="ns"):
    """Points of a request body; raises LineProtocolError like the server (every bad line)."""
    points, failed = [], []
    for line in split_lines(text):
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.rstrip("\r")
        try:
            points.append(parse_point(stripped, PRECISION_NS[precision]))
        except LineProtocolError as exc:
            failed.append("unable to parse '%s': %s" % (stripped, exc))
    if failed:
        raise LineProtocolError("\n".join(failed))
    return points


def _split_unescaped(text, separator, quotes=False):
    """Split on a separator that is not escaped (nor quoted, when ``quotes``)."""
    parts, current, escaped, quoted = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\":
            current.append(char)
            escaped = True
            continue
        if quotes and char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts, quoted


def _unescape(text, specials):
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in specials:
            out.append(text[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def parse_point(line, scale):
    sections, quoted = _split_unescaped(line, " ", quotes=True)
    if quoted:
        raise LineProtocolError("unbalanced quotes")
    sections = [s for s in sections if s != ""]
    key = sections[0] if sections else ""
    if not key or key.startswith(","):
        raise LineProtocolError("missing measurement")
    if len(sections) < 2:
        raise LineProtocolError("missing fields")
    if len(sections) > 3:
        raise LineProtocolError("bad timestamp")
    key_parts, _quoted = _split_unescaped(key, ",")
    measurement = _unescape(key_parts[0], ", ")
    tags = {}
    for pair in key_parts[1:]:
        name, equals, value = pair.partition("=")
        if not name:
            raise LineProtocolError("missing tag key")
        if not equals or not value:
            raise LineProtocolError("missing tag value")
        if "=" in value.replace("\\=", ""):
            raise LineProtocolError("invalid tag format")
        tag_key = _unescape(name, ",= ")
        if tag_key in tags:
            raise LineProtocolError("duplicate tags")
        if tag_key in ("_field", "_measurement", "time"):
            raise LineProtocolError("cannot use reserved tag key %r" % tag_key)
        tags[tag_key] = _unescape(value, ",= ")
    fields = []
    pairs, _quoted = _split_unescaped(sections[1], ",", quotes=True)
    for pair in pairs:
        name, equals, raw = _partition_unescaped(pair)
        if not name:
            raise LineProtocolError("missing field key")
        if not equals:
            raise LineProtocolError("invalid field format")
        if raw == "":
            raise LineProtocolError("missing field value")
        fields.append((_unescape(name, ",= "), *field_value(raw)))
    timestamp = None
    if len(sections) == 3:
        if not re.fullmatch(r"-?\d+", sections[2]):
            raise LineProtocolError("bad timestamp")
        timestamp = int(sections[2]) * scale
    return Point(measurement, tuple(sorted(tags.items())), tuple(fields), timestamp)


def _partition_unescaped(pair):
    escaped = False
    for index, char in enumerate(pair):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "=":
            return pair[:index], "=", pair[index + 1 :]
    return pair, "", ""


def field_value(raw):
    """(type, value) of a field value as written in line protocol."""
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"') or (raw.endswith('\\"') and not raw.endswith('\\\\"')):
            raise LineProtocolError("unbalanced quotes")
        return "string", raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if raw in _BOOLEANS:
        return "boolean", _BOOLEANS[raw]
    if raw[0] in "tTfF":
        raise LineProtocolError("invalid boolean")
    if raw.endswith("i"):
        if not re.fullmatch(r"[+-]?\d+", raw[:-1]) or not -INT64_MAX - 1 <= int(raw[:-1]) <= INT64_MAX:
            raise LineProtocolError("unable to parse integer %s: value out of range" % raw[:-1])
        return "integer", int(raw[:-1])
    if raw.endswith("u"):
        if not re.fullmatch(r"\d+", raw[:-1]) or int(raw[:-1]) > UINT64_MAX:
            raise LineProtocolError("unable to parse unsigned %s: value out of range" % raw[:-1])
        return "unsigned", int(raw[:-1])
    if not _FLOAT.match(raw):
        raise LineProtocolError("invalid number")
    value = float(raw)
    if math.isinf(value) or math.isnan(value):
        raise LineProtocolError("invalid number")
    return "float", value
