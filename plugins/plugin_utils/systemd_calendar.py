# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The longest wait between two firings of a systemd timer's ``OnCalendar=`` expression.

Alert thresholds follow the schedules the roles install (pgBackRest backups, Redis
snapshots): a backup is "too old" when it is older than the longest gap its timer leaves,
plus a grace. Only the part of ``man systemd.time`` that repeats every week is read:

* the shorthands ``minutely``, ``hourly``, ``daily``, ``weekly``, ``monthly``,
  ``quarterly``, ``semiannually``, ``yearly``/``annually`` (a month counts 31 days,
  a year 366: the longest they can be);
* ``[weekdays] [*-*-*] [hour:minute[:second]]`` where weekdays are names or ranges
  (``Mon..Fri``, ``Sat,Sun``) and each time field is ``*``, a number, a list
  (``1,13``), a range (``07..23``) or a repetition (``0/30``, ``*/15``).

Anything else (a date, a day of the month, a time zone) raises CalendarError, so the
caller asks for an explicit threshold instead of guessing one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DAY = 86400
WEEK = 7 * DAY

SHORTHAND_INTERVALS = {
    "minutely": 60,
    "hourly": 3600,
    "daily": DAY,
    "weekly": WEEK,
    "monthly": 31 * DAY,
    "quarterly": 92 * DAY,
    "semiannually": 184 * DAY,
    "yearly": 366 * DAY,
    "annually": 366 * DAY,
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = dict(
    [(name, index) for index, name in enumerate(WEEKDAYS)]
    + [
        (name, index)
        for index, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    ]
)

_RANGE = re.compile(r"^(\d+)\.\.(\d+)$")
_REPEAT = re.compile(r"^(\*|\d+)/(\d+)$")


class CalendarError(ValueError):
    """An expression this module does not read."""


def _weekdays(text):
    days = set()
    for part in text.lower().split(","):
        if ".." in part:
            first, last = part.split("..", 1)
            if first not in WEEKDAY_NAMES or last not in WEEKDAY_NAMES:
                raise CalendarError("weekday range %r" % part)
            start, stop = WEEKDAY_NAMES[first], WEEKDAY_NAMES[last]
            days.update(range(start, stop + 1) if start <= stop else list(range(start, 7)) + list(range(stop + 1)))
        elif part in WEEKDAY_NAMES:
            days.add(WEEKDAY_NAMES[part])
        else:
            raise CalendarError("weekday %r" % part)
    return days


def _field(text, limit, what):
    """The values of one time field (hour, minute or second) below ``limit``."""
    values = set()
    for part in text.split(","):
        repeat = _REPEAT.match(part)
        span = _RANGE.match(part)
        if part == "*":
            values.update(range(limit))
        elif repeat:
            start = 0 if repeat.group(1) == "*" else int(repeat.group(1))
            step = int(repeat.group(2))
            if step == 0:
                raise CalendarError("%s repetition %r" % (what, part))
            values.update(range(start, limit, step))
        elif span:
            values.update(range(int(span.group(1)), int(span.group(2)) + 1))
        elif part.isdigit():
            values.add(int(part))
        else:
            raise CalendarError("%s %r" % (what, part))
    if not values or max(values) >= limit:
        raise CalendarError("%s %r" % (what, text))
    return values


def _time_of_day(text):
    fields = text.split(":")
    if len(fields) == 2:
        fields.append("00")
    if len(fields) != 3:
        raise CalendarError("time %r" % text)
    hours = _field(fields[0], 24, "hour")
    minutes = _field(fields[1], 60, "minute")
    seconds = _field(fields[2], 60, "second")
    return sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds)


def max_interval(expression):
    """The longest time in seconds between two consecutive firings of ``expression``."""
    text = " ".join(str(expression).split()).lower()
    if text in SHORTHAND_INTERVALS:
        return SHORTHAND_INTERVALS[text]
    if not text:
        raise CalendarError("an empty expression")
    parts = {}
    for token in text.split(" "):
        kind = "time" if ":" in token else "date" if "-" in token else "weekdays"
        if kind in parts:
            raise CalendarError("two %s parts" % kind)
        parts[kind] = token
    if parts.get("date", "*-*-*") != "*-*-*":
        raise CalendarError("date %r (only *-*-* repeats every week)" % parts["date"])
    days = sorted(_weekdays(parts["weekdays"])) if "weekdays" in parts else range(7)
    times = _time_of_day(parts["time"]) if "time" in parts else [0]
    firings = [day * DAY + second for day in days for second in times]
    gaps = [later - earlier for earlier, later in zip(firings, firings[1:])]
    gaps.append(firings[0] + WEEK - firings[-1])
    return max(gaps)
