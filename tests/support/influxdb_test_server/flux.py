"""The small part of Flux the test double runs, and the annotated CSV it answers with.

Only ``from(bucket: ...) |> range(start: ..., stop: ...) |> filter(fn: (r) => ...)``
(any number of filters, an optional ``yield``) is understood: enough to read back a
point written with line protocol, which is what the project's verification does.
Anything else is refused with 400, saying it is beyond the test double.

The answer is what InfluxDB 2 sends for such a query (flux v0.195.2, which both
v2.7.11 and v2.9.1 build with: ``csv/result.go``): annotated CSV with CRLF line ends,
one table per series and field, columns ``result, table, _start, _stop, _time,
_value, _field, _measurement`` and the tags in name order, the ``#datatype``,
``#group`` and ``#default`` annotation rows the request asks for, a header block
again (after an empty line) only when the columns change, and an empty line after
the result. A query that matches nothing answers with the empty line alone.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime, timezone
from decimal import Decimal

DURATION_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
    "w": 7 * 86400 * 1_000_000_000,
}
DATATYPES = {"float": "double", "integer": "long", "unsigned": "unsignedLong", "string": "string", "boolean": "boolean"}
_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<duration>(?:\d+(?:ns|us|µs|ms|s|mo|m|h|d|w|y))+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<op>\|>|=>|==|!=|<=|>=|=~|!~|[()\[\]{},:.<>+-])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


class FluxError(ValueError):
    """A query the test double cannot run; answered with 400 like a Flux compilation error."""


def beyond_the_double(what):
    return FluxError(
        "compilation failed: %s (the InfluxDB test double runs only "
        "from(bucket:) |> range(start:, stop:) |> filter(fn: (r) => ...))" % what
    )


def tokenize(text):
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise beyond_the_double("unexpected character %r at offset %d" % (text[position], position))
        position = match.end()
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
    return tokens


class Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self, offset=0):
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else (None, None)

    def take(self, kind=None, value=None):
        token = self.peek()
        if token[0] is None or (kind and token[0] != kind) or (value is not None and token[1] != value):
            raise beyond_the_double("expected %s, found %r" % (value or kind, token[1]))
        self.index += 1
        return token

    def accept(self, kind, value=None):
        token = self.peek()
        if token[0] == kind and (value is None or token[1] == value):
            self.index += 1
            return token
        return None

    # -- pipeline ------------------------------------------------------------
    def query(self):
        calls = [self.call()]
        while self.accept("op", "|>"):
            calls.append(self.call())
        if self.peek()[0] is not None:
            raise beyond_the_double("unexpected %r after the pipeline" % self.peek()[1])
        return calls

    def call(self):
        _kind, name = self.take("name")
        self.take("op", "(")
        arguments = {}
        while not self.accept("op", ")"):
            _kind, key = self.take("name")
            self.take("op", ":")
            arguments[key] = self.fn() if key == "fn" else self.literal()
            if not self.accept("op", ","):
                self.take("op", ")")
                break
        return name, arguments

    def literal(self):
        kind, value = self.peek()
        negative = False
        if kind == "op" and value == "-":
            self.index += 1
            negative = True
            kind, value = self.peek()
        if kind == "string":
            self.index += 1
            return ("string", unquote(value))
        if kind == "duration":
            self.index += 1
            return ("duration", (-1 if negative else 1) * duration_ns(value))
        if kind == "time":
            self.index += 1
            return ("time", time_ns(value))
        if kind == "number":
            self.index += 1
            number = Decimal(value)
            return ("number", -number if negative else number)
        if kind == "name" and value in ("true", "false"):
            self.index += 1
            return ("boolean", value == "true")
        if kind == "name" and value == "now":
            self.index += 1
            self.take("op", "(")
            self.take("op", ")")
            return ("now", None)
        raise beyond_the_double("unsupported value %r" % value)

    # -- predicate -----------------------------------------------------------
    def fn(self):
        self.take("op", "(")
        _kind, row = self.take("name")
        self.take("op", ")")
        self.take("op", "=>")
        return ("fn", row, self.disjunction(row))

    def disjunction(self, row):
        node = self.conjunction(row)
        while self.accept("name", "or"):
            node = ("or", node, self.conjunction(row))
        return node

    def conjunction(self, row):
        node = self.unary(row)
        while self.accept("name", "and"):
            node = ("and", node, self.unary(row))
        return node

    def unary(self, row):
        if self.accept("name", "not"):
            return ("not", self.unary(row))
        if self.accept("op", "("):
            node = self.disjunction(row)
            self.take("op", ")")
            return node
        left = self.operand(row)
        kind, operator = self.peek()
        if kind != "op" or operator not in ("==", "!=", "<", "<=", ">", ">="):
            raise beyond_the_double("expected a comparison, found %r" % operator)
        self.index += 1
        return ("compare", operator, left, self.operand(row))

    def operand(self, row):
        if self.peek() == ("name", row):
            self.index += 1
            if self.accept("op", "."):
                return ("column", self.take("name")[1])
            self.take("op", "[")
            column = unquote(self.take("string")[1])
            self.take("op", "]")
            return ("column", column)
        return self.literal()


def unquote(text):
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def duration_ns(text):
    total = 0
    for amount, unit in re.findall(r"(\d+)(ns|us|µs|ms|s|mo|m|h|d|w|y)", text):
        if unit in ("mo", "y"):
            raise beyond_the_double("calendar durations (%s) are not supported" % unit)
        total += int(amount) * DURATION_UNITS_NS[unit]
    return total


def time_ns(text):
    match = re.fullmatch(r"(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", text)
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return int(moment.timestamp()) * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


def rfc3339nano(nanoseconds):
    """A time the way Go's time.RFC3339Nano formats it in UTC (trailing zeros dropped)."""
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + ("%09d" % fraction).rstrip("0")
    return text + "Z"


def format_value(kind, value):
    if kind == "float":
        # Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent.
        text = format(Decimal(repr(value)), "f")
        return text[:-2] if text.endswith(".0") else text
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


# -- planning and execution --------------------------------------------------
class Query:
    """A parsed query: the bucket, the time range and the row predicates."""

    def __init__(self, text, now_ns=None):
        calls = Parser(text).query()
        now_ns = time.time_ns() if now_ns is None else now_ns
        name, arguments = calls[0]
        if name != "from":
            raise beyond_the_double("a query must start with from()")
        self.bucket = self.bucket_id = None
        if "bucket" in arguments:
            self.bucket = self._string(arguments["bucket"], "bucket")
        elif "bucketID" in arguments:
            self.bucket_id = self._string(arguments["bucketID"], "bucketID")
        else:
            raise FluxError('error calling function "from": missing required argument "bucket"')
        self.start = self.stop = None
        self.predicates = []
        for name, arguments in calls[1:]:
            if name == "range":
                if "start" not in arguments:
                    raise FluxError('error calling function "range": missing required argument "start"')
                self.start = self._time(arguments["start"], now_ns)
                self.stop = self._time(arguments.get("stop", ("now", None)), now_ns)
            elif name == "filter":
                if "fn" not in arguments:
                    raise FluxError('error calling function "filter": missing required argument "fn"')
                self.predicates.append(arguments["fn"])
            elif name != "yield":
                raise beyond_the_double("function %s() is not supported" % name)
        if self.start is None:
            # flux's planner: a read from storage needs bounds.
            raise FluxError(
                "cannot submit unbounded read to %r; try bounding 'from' with a call to 'range'"
                % (self.bucket or self.bucket_id)
            )

    @staticmethod
    def _string(value, what):
        if value[0] != "string":
            raise beyond_the_double("%s must be a string" % what)
        return value[1]

    @staticmethod
    def _time(value, now_ns):
        kind, amount = value
        if kind == "now":
            return now_ns
        if kind == "duration":
            return now_ns + amount
        if kind == "time":
            return amount
        if kind == "number" and amount == amount.to_integral_value():
            return int(amount)  # an integer is a Unix time in nanoseconds
        raise beyond_the_double("range bounds must be times, durations or integers")

    def rows(self, points):
        """Rows (dicts of column -> (type, value)) within the range and matching every filter."""
        rows = []
        for point in points:
            measurement, tags, field, moment, kind, value = point
            if not self.start <= moment < self.stop:
                continue
            row = {"_measurement": ("string", measurement), "_field": ("string", field)}
            row.update((key, ("string", tag)) for key, tag in tags)
            row["_time"] = ("time", moment)
            row["_value"] = (kind, value)
            if all(evaluate(predicate[2], predicate[1], row) for predicate in self.predicates):
                rows.append(row)
        return rows


def evaluate(node, row_name, row):
    kind = node[0]
    if kind == "and":
        return evaluate(node[1], row_name, row) and evaluate(node[2], row_name, row)
    if kind == "or":
        return evaluate(node[1], row_name, row) or evaluate(node[2], row_name, row)
    if kind == "not":
        return not evaluate(node[1], row_name, row)
    _compare, operator, left, right = node
    left_value, right_value = operand_value(left, row), operand_value(right, row)
    if left_value is None or right_value is None:
        return False  # a missing column is null: the comparison is not true
    try:
        return {
            "==": left_value == right_value,
            "!=": left_value != right_value,
            "<": left_value < right_value,
            "<=": left_value <= right_value,
            ">": left_value > right_value,
            ">=": left_value >= right_value,
        }[operator]
    except TypeError:
        raise FluxError("runtime error: cannot compare %r with %r" % (left_value, right_value)) from None


def operand_value(operand, row):
    kind, value = operand
    if kind == "column":
        cell = row.get(value)
        if cell is None:
            return None
        if cell[0] in ("float", "integer", "unsigned"):
            return Decimal(repr(cell[1])) if cell[0] == "float" else Decimal(cell[1])
        return cell[1]
    if kind == "number":
        return value
    if kind in ("duration", "now"):
        raise beyond_the_double("durations cannot be compared in filter()")
    return value


def annotated_csv(rows, start, stop, annotations=("datatype", "group", "default"), header=True):
    """The answer to a query: one table per series and field, as flux's CSV encoder writes it."""
    # With a #default row the result name is given there and left out of the records.
    result_cell = "" if "default" in annotations else "_result"
    tables = {}
    for row in rows:
        tag_keys = sorted(k for k in row if not k.startswith("_"))
        key = (row["_measurement"][1], tuple((k, row[k][1]) for k in tag_keys), row["_field"][1])
        tables.setdefault(key, []).append(row)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    last_schema = None
    for table_id, key in enumerate(sorted(tables)):
        table = sorted(tables[key], key=lambda r: r["_time"][1])
        measurement, tags, field = key
        tag_keys = [k for k, _v in tags]
        labels = ["", "result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement", *tag_keys]
        value_type = table[0]["_value"][0]
        schema = (tuple(labels), value_type)
        if schema != last_schema:
            if last_schema is not None:
                writer.writerow([])
            group = {"_start", "_stop", "_field", "_measurement", *tag_keys}
            rows_by_annotation = {
                "datatype": [
                    "#datatype",
                    "string",
                    "long",
                    "dateTime:RFC3339",
                    "dateTime:RFC3339",
                    "dateTime:RFC3339",
                    DATATYPES[value_type],
                    *(["string"] * (2 + len(tag_keys))),
                ],
                "group": ["#group", "false", "false", *[str(label in group).lower() for label in labels[3:]]],
                "default": ["#default", "_result", *([""] * (len(labels) - 2))],
            }
            for annotation in annotations:
                writer.writerow(rows_by_annotation[annotation])
            if header:
                writer.writerow(labels)
            last_schema = schema
        for row in table:
            writer.writerow(
                [
                    "",
                    result_cell,
                    str(table_id),
                    rfc3339nano(start),
                    rfc3339nano(stop),
                    rfc3339nano(row["_time"][1]),
                    format_value(*row["_value"]),
                    field,
                    measurement,
                    *[value for _k, value in tags],
                ]
            )
    out.write("\r\n")
    return out.getvalue()
