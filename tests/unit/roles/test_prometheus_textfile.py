"""The monitoring role's textfile helper (roles/monitoring/files/prometheus_textfile.py)."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parents[3] / "roles" / "monitoring" / "files" / "prometheus_textfile.py"
_spec = importlib.util.spec_from_file_location("prometheus_textfile", PROGRAM)
textfile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(textfile)

METRICS = [
    textfile.Metric("demo_up", "gauge", "1 when read."),
    textfile.Metric("demo_runs_total", "counter", "Runs, with a \\ and\na second line."),
    textfile.Metric("demo_unused", "gauge", "Never sampled."),
]


def test_label_values_escape_backslash_quote_and_newline():
    assert textfile.escape_label_value('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


@pytest.mark.parametrize(
    "value, text",
    [
        (True, "1"),
        (False, "0"),
        (7, "7"),
        (3.0, "3"),
        (0.5, "0.5"),
        (1796314897.866, "1796314897.866"),
        # A difference of epoch seconds read with microseconds.
        (1796314897.866 - 1796310000.5, "4897.366"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_values_are_written_as_the_text_format_reads_them(value, text):
    assert textfile.format_value(value) == text


def test_each_metric_is_one_block_in_the_listed_order_and_unsampled_ones_are_left_out():
    samples = [
        textfile.Sample("demo_runs_total", (("job", "a"),), 3),
        textfile.Sample("demo_up", (("source", 'x"y'),), 1),
        textfile.Sample("demo_runs_total", (("job", "b"),), 0),
        textfile.Sample("demo_up", (), 0),
    ]
    assert textfile.render(METRICS, samples).splitlines() == [
        "# HELP demo_up 1 when read.",
        "# TYPE demo_up gauge",
        'demo_up{source="x\\"y"} 1',
        "demo_up 0",
        "# HELP demo_runs_total Runs, with a \\\\ and\\na second line.",
        "# TYPE demo_runs_total counter",
        'demo_runs_total{job="a"} 3',
        'demo_runs_total{job="b"} 0',
    ]


def test_a_sample_of_an_unlisted_metric_is_an_error():
    with pytest.raises(KeyError):
        textfile.render(METRICS, [textfile.Sample("demo_other", (), 1)])


def test_the_file_is_replaced_whole_with_mode_0644_and_no_temporary_file_left(tmp_path):
    target = tmp_path / "demo.prom"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    textfile.write_atomically(str(target), "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["demo.prom"]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "demo.prom"
    target.write_text("old\n")

    def failing_rename(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(textfile.os, "rename", failing_rename)
    with pytest.raises(OSError, match="No space left"):
        textfile.write_atomically(str(target), "new\n")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["demo.prom"]


def test_errors_are_put_on_one_line():
    assert textfile.one_line('connection failed\nDETAIL:  "x"\n\tHINT: y  ') == 'connection failed DETAIL: "x" HINT: y'
