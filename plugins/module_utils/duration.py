# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durations as users write them in playbooks, for every module of the collection.

Accepted forms (one parameter may mix several parts, as in ``1h30m``):

* a number of seconds: ``3600`` or ``"3600"``; ``0`` means "forever" where the
  module says so (InfluxDB retention);
* a number and a unit, with or without a space: ``90d``, ``7 days``, ``720h``,
  ``1y``, ``15 min``, ``2w``.

Units: s/sec/second(s), m/min/minute(s), h/hr/hour(s), d/day(s), w/week(s),
mo/month(s) (30 days), y/yr/year(s) (365 days). Months and years are fixed lengths
so that a duration read back from a server compares equal to the one in the
playbook.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

SECONDS_PER_UNIT = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "mo": 30 * 86400,
    "y": 365 * 86400,
}

UNIT_ALIASES = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
    "mo": "mo",
    "mon": "mo",
    "mons": "mo",
    "month": "mo",
    "months": "mo",
    "y": "y",
    "yr": "y",
    "yrs": "y",
    "year": "y",
    "years": "y",
}

ACCEPTED_FORMS = (
    "a number of seconds (3600) or a number and a unit (90d, 7 days, 720h, 1y, 1h30m); "
    "units: s, m/min, h, d, w, mo (30 days), y (365 days)"
)

_PART = re.compile(r"\s*(\d+)\s*([a-z]+)\s*")


class DurationError(ValueError):
    """A duration that cannot be read; the message names the parameter."""


def parse_duration(value, parameter):
    """Return ``value`` as a whole number of seconds.

    ``parameter`` is the option name the user wrote, used in error messages.
    """
    if isinstance(value, bool) or value is None:
        raise DurationError("%s: %r is not a duration; use %s" % (parameter, value, ACCEPTED_FORMS))
    if isinstance(value, int):
        if value < 0:
            raise DurationError("%s: %d is negative; use %s" % (parameter, value, ACCEPTED_FORMS))
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    seconds = 0
    position = 0
    while position < len(text):
        match = _PART.match(text, position)
        if not match or match.group(2) not in UNIT_ALIASES:
            raise DurationError("%s: %r is not a duration; use %s" % (parameter, value, ACCEPTED_FORMS))
        seconds += int(match.group(1)) * SECONDS_PER_UNIT[UNIT_ALIASES[match.group(2)]]
        position = match.end()
    if not text:
        raise DurationError("%s: an empty string is not a duration; use %s" % (parameter, ACCEPTED_FORMS))
    return seconds


def postgres_interval(seconds):
    """The shortest exact PostgreSQL interval literal for a number of seconds.

    Whole days are written as days (never months or years), because TimescaleDB
    stores policy intervals as given and a '1 year' would read back as '1 year',
    not as 365 days.
    """
    for unit, name in ((86400, "days"), (3600, "hours"), (60, "mins")):
        if seconds and seconds % unit == 0:
            return "%d %s" % (seconds // unit, name)
    return "%d secs" % seconds


def human_duration(seconds):
    """A short readable form for messages and diffs: 7776000 -> '90d'."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, SECONDS_PER_UNIT[unit])
        if count:
            parts.append("%d%s" % (count, unit))
    return "".join(parts)
