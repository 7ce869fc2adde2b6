"""Starting subprocesses in a test and always ending them: terminate, then kill, reap, whatever the test did."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import Sequence

# A shell starts background jobs with SIGINT ignored, children inherit that, and Python then installs no
# KeyboardInterrupt handler. This prefix gives the command the default SIGINT (kept across exec), so Ctrl-C
# stops it wherever the tests run (a preexec_fn would do the same, but forks the multithreaded test process).
DEFAULT_SIGINT = [sys.executable, '-c', 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); '
                  'os.execvp(sys.argv[1], sys.argv[1:])']


def stop(process: subprocess.Popen, grace_s: float = 10) -> None:
  """Ends ``process`` if it still runs: SIGTERM, then SIGKILL after ``grace_s`` seconds; reaps it."""
  if process.poll() is None:
    process.terminate()
    try:
      process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()
  for stream in (process.stdin, process.stdout, process.stderr):
    if stream is not None:
      stream.close()


@contextlib.contextmanager
def started_process(command, grace_s: float = 10, **popen_kwargs):
  """``subprocess.Popen(command, **popen_kwargs)`` with SIGINT at its default; ended on exit (see ``stop``)."""
  process = subprocess.Popen([*DEFAULT_SIGINT, *command], **popen_kwargs)
  try:
    yield process
  finally:
    stop(process, grace_s)


@contextlib.contextmanager
def started_processes(commands: Sequence[Sequence[str]], logs: Sequence[str | os.PathLike], grace_s: float = 10,
                      **popen_kwargs):
  """One ``started_process`` per command, its stdout and stderr written to its log file -> the processes.

  On exit every process is ended and reaped (see ``stop``), then every log file is closed.
  """
  if len(commands) != len(logs):
    raise ValueError(f'{len(commands)} commands but {len(logs)} log files')
  with contextlib.ExitStack() as stack:
    processes = []
    for command, log in zip(commands, logs):
      out = stack.enter_context(open(log, 'w', encoding='utf-8'))
      processes.append(stack.enter_context(
          started_process(command, grace_s, stdout=out, stderr=subprocess.STDOUT, **popen_kwargs)))
    yield processes
