from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.plugin_utils.systemd_calendar import CalendarError, max_interval

HOUR = 3600
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        # The pgbackrest role's default schedule.
        ("Sun *-*-* 01:00:00", 7 * DAY),
        ("Mon..Sat *-*-* 01:00:00", 2 * DAY),  # Saturday to Monday: Sunday has the full backup
        ("*-*-* 07..23:00:00", 8 * HOUR),  # 23:00 to 07:00
        # The backup scenario's incremental backups, the redis role's snapshots.
        ("*:*:0/30", 30),
        ("hourly", HOUR),
        ("daily", DAY),
        ("weekly", 7 * DAY),
        ("monthly", 31 * DAY),
        ("*-*-* 02:30", DAY),
        ("*:0/15", 15 * 60),
        ("Fri..Mon 12:00", 4 * DAY),  # a range across the week's end
        ("Sat,Sun 03:30", 6 * DAY),
        ("mon,wed,fri 00:00:00", 3 * DAY),
        ("*-*-* 01,13:00", 12 * HOUR),
        ("  Hourly ", HOUR),
    ],
)
def test_longest_gap_between_firings(expression, interval):
    assert max_interval(expression) == interval


@pytest.mark.parametrize(
    "expression",
    ["", "*-*-01 00:00", "2026-01-01", "Mon 25:00", "12:00 UTC", "Funday 01:00", "*:0/0", "01:00 02:00"],
)
def test_what_does_not_repeat_every_week_or_is_not_understood_is_an_error(expression):
    with pytest.raises(CalendarError):
        max_interval(expression)
