from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils.duration import (
    DurationError,
    human_duration,
    parse_duration,
    postgres_interval,
)

DAY = 86400


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0),
        ("0", 0),
        (3600, 3600),
        ("3600", 3600),
        ("90d", 90 * DAY),
        ("7 days", 7 * DAY),
        ("1 day", DAY),
        ("720h", 720 * 3600),
        ("1y", 365 * DAY),
        ("2w", 14 * DAY),
        ("1 month", 30 * DAY),
        ("15 min", 900),
        ("1h30m", 5400),
        (" 30D ", 30 * DAY),
    ],
)
def test_parse_duration_accepts_the_documented_forms(value, seconds):
    assert parse_duration(value, "drop_after") == seconds


@pytest.mark.parametrize("value", ["", "ninety days", "90 fortnights", "-5", -5, "5d-", True, None, "1.5h"])
def test_parse_duration_rejects_bad_input_naming_the_parameter(value):
    with pytest.raises(DurationError) as excinfo:
        parse_duration(value, "retention")
    message = str(excinfo.value)
    assert message.startswith("retention:")
    assert "90d" in message  # the accepted forms are listed


@pytest.mark.parametrize(
    ("seconds", "interval"),
    [(90 * DAY, "90 days"), (365 * DAY, "365 days"), (7200, "2 hours"), (300, "5 mins"), (61, "61 secs")],
)
def test_postgres_interval_is_exact(seconds, interval):
    assert postgres_interval(seconds) == interval


def test_human_duration_round_trips_through_parse():
    for seconds in (0, 59, 3600, 5400, 90 * DAY, 90 * DAY + 61):
        assert parse_duration(human_duration(seconds), "x") == seconds
