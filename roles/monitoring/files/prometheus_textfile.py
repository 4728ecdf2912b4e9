# Copyright: mantis.datalayer contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files for the node exporter's textfile collector, shared by the monitoring role's collectors.

Installed beside timescaledb_metrics.py and backup_metrics.py (they import it from their own
directory). Renders samples in Prometheus' text exposition format 0.0.4, one block per metric
with its # HELP and # TYPE lines, and writes the file so that the node exporter never reads
half of it: a temporary file in the same directory (its name does not end in .prom, so the
collector skips it), fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections import namedtuple

Metric = namedtuple("Metric", "name type help")
# labels: (name, value) pairs in the order they are written.
Sample = namedtuple("Sample", "name labels value")


def escape_label_value(value):
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    # Differences of epoch seconds carry float noise below the microseconds they were read with.
    value = round(value, 6)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def render(metrics, samples):
    """The file's text: for each metric in `metrics` order that has samples, its HELP and TYPE
    lines and then its samples in the order given. A sample of a metric not listed is an error."""
    by_name = {metric.name: [] for metric in metrics}
    for sample in samples:
        by_name[sample.name].append(sample)
    lines = []
    for metric in metrics:
        if not by_name[metric.name]:
            continue
        lines.append("# HELP %s %s" % (metric.name, escape_help(metric.help)))
        lines.append("# TYPE %s %s" % (metric.name, metric.type))
        for sample in by_name[metric.name]:
            labels = ",".join('%s="%s"' % (name, escape_label_value(value)) for name, value in sample.labels)
            lines.append("%s%s %s" % (sample.name, "{%s}" % labels if labels else "", format_value(sample.value)))
    return "".join(line + "\n" for line in lines)


def write_atomically(path, text, mode=0o644):
    """Replace `path` by a file holding `text`; on any error the previous file stays as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            # mkstemp creates 0600; the node exporter runs as its own user.
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    directory_descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_descriptor)
    finally:
        os.close(directory_descriptor)


def one_line(error):
    """An error message on one line (psycopg2's and pgBackRest's span several)."""
    return " ".join(str(error).split())


def write_and_report(program, path, text, errors):
    """Write the file, then say on one line of stderr what failed (reading or writing);
    the exit status: 0 when nothing did, else 1."""
    try:
        write_atomically(path, text)
    except OSError as error:
        errors = [*errors, "cannot write %s: %s" % (path, one_line(error))]
    if errors:
        print("%s: %s" % (program, "; ".join(errors)), file=sys.stderr)
        return 1
    return 0
