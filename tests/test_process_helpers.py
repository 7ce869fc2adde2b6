"""The subprocess helpers end, reap and close everything they started, whatever the test did."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from process_helpers import started_processes

LOOPS = 600  # at most 600 x 0.05 s for a child to start


def open_files() -> set[str]:
  """The paths this process has open (Linux /proc)."""
  fds = '/proc/self/fd'
  paths = set()
  for fd in os.listdir(fds):
    try:
      paths.add(os.readlink(os.path.join(fds, fd)))
    except OSError:  # closed while listing
      pass
  return paths


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc/self/fd (Linux)')
def test_started_processes_are_ended_reaped_and_their_logs_closed(tmp_path):
  command = [sys.executable, '-c', 'import time; print("up", flush=True); time.sleep(600)']
  logs = [tmp_path / 'first.log', tmp_path / 'second.log']
  with started_processes([command, command], logs, grace_s=10) as procs:
    for _ in range(LOOPS):
      if all('up' in log.read_text() for log in logs):
        break
      assert all(proc.poll() is None for proc in procs)
      time.sleep(0.05)
    assert all('up' in log.read_text() for log in logs)
    assert {str(log) for log in logs} <= open_files()
  assert [proc.returncode for proc in procs] == [-signal.SIGTERM, -signal.SIGTERM]  # ended and reaped
  assert not {str(log) for log in logs} & open_files()


def test_started_processes_needs_one_log_per_command(tmp_path):
  with pytest.raises(ValueError, match='2 commands but 1 log files'):
    with started_processes([['true'], ['true']], [tmp_path / 'a.log']):
      pass
