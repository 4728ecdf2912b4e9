# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: SIGKILL this ansible-playbook at a task chosen by name.

Used by tests/integration/test_interrupted_converge.py to interrupt a converge where a
killed CI job, a lost SSH session or a reboot would: right after a named task finished (or
when it started, for a kill in the middle of it). Lives under tests/support so that it is
never part of the built collection. Enabled per run:

    ANSIBLE_CALLBACK_PLUGINS=tests/support/callback ANSIBLE_CALLBACKS_ENABLED=mantis_kill_at

    MANTIS_KILL_TASK    the task's name (shell-style pattern), with or without "role : "
    MANTIS_KILL_HOST    only when the task runs on this inventory host (default: any)
    MANTIS_KILL_ON      changed (default): the task finished and changed something;
                        ok: it finished; start: it was sent to the host
    MANTIS_KILL_WAIT    a shell command run first (in a thread, so the task goes on meanwhile);
                        the kill follows when it exits 0 (for example: wait until dpkg is
                        configuring a package on the host, then kill it there)
    MANTIS_KILL_MARKER  file written with the task name and host just before the kill

The whole process group is killed when ansible-playbook leads one (start it with a new
session), so its forked workers die with it, as they do when a CI runner kills a job.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
import threading

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: mantis_kill_at
type: aggregate
short_description: Test-only; SIGKILL ansible-playbook at a named task (mantis.datalayer crash test)
description:
  - Configured with the MANTIS_KILL_* environment variables; see the module docstring.
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mantis_kill_at"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.pattern = os.environ.get("MANTIS_KILL_TASK", "")
        self.host = os.environ.get("MANTIS_KILL_HOST", "")
        self.on = os.environ.get("MANTIS_KILL_ON", "changed")
        self.wait = os.environ.get("MANTIS_KILL_WAIT", "")
        self.marker = os.environ.get("MANTIS_KILL_MARKER", "")
        self.fired = False

    def names_match(self, *names):
        return bool(self.pattern) and any(
            fnmatch.fnmatchcase(name, self.pattern) or fnmatch.fnmatchcase(name.split(" : ", 1)[-1], self.pattern)
            for name in names
            if name
        )

    def fire(self, task_name, host_name):
        if self.fired:
            return
        self.fired = True
        if self.wait:
            # Started here, in the thread that forks Ansible's workers: started from another
            # thread, a worker forked at the same moment inherits the pipe through which Popen
            # learns that the command started, and the thread waits on it forever.
            command = subprocess.Popen(self.wait, shell=True)
            threading.Thread(target=self.wait_then_kill, args=(command, task_name, host_name), daemon=True).start()
        else:
            self.kill(task_name, host_name)

    def wait_then_kill(self, command, task_name, host_name):
        if command.wait() == 0:
            self.kill(task_name, host_name)

    def kill(self, task_name, host_name):
        if self.marker:
            with open(self.marker, "w") as handle:
                handle.write("%s\n%s\n" % (task_name, host_name))
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self.on == "start" and self.names_match(task.get_name(), task.name):
            # The host is not known here; MANTIS_KILL_HOST narrows the finished-task events only.
            self.fire(task.get_name(), self.host)

    def v2_runner_on_ok(self, result):
        host_name = result._host.get_name()
        if self.on == "start" or (self.host and host_name != self.host):
            return
        if self.on == "changed" and not result.is_changed():
            return
        if self.names_match(result.task_name, result._task.get_name(), result._task.name):
            self.fire(result.task_name, host_name)
