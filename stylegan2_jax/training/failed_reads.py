"""Reading a damaged checkpoint without pages of noise on stderr.

When an Orbax restore fails on one array, the reads it started for the others
are abandoned: their coroutines and tasks raise later, when garbage-collected
or when TensorStore completes them on the event loop of the restore that already
failed, and Python reports each (with a page-long TensorStore spec) as an
exception "ignored" or "never retrieved". :func:`read_quietly` filters those
reports, and only those, from its first read on, and collects what it can at once.
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import Any, Callable


def _from_abandoned_read(error: BaseException | None, obj: Any) -> bool:
  if isinstance(error, RuntimeError) and str(error) == 'Event loop is closed':
    return True  # a read completing on the event loop of a restore that already failed
  code = getattr(obj, 'cr_code', None)  # a coroutine of Orbax's that nobody awaits any more
  return code is not None and 'orbax' in code.co_filename


# What the errors of Orbax's reads (and of TensorStore under them) say, whichever object carries them.
_READ_ERROR_MARKS = ('orbax', 'TensorStore', 'Error opening "', 'Encountered error while reading array')


class _AbandonedTaskFilter(logging.Filter):
  """Drops asyncio's "Task/Future exception was never retrieved" records of Orbax's reads."""

  def filter(self, record: logging.LogRecord) -> bool:
    message = record.getMessage()
    if 'never retrieved' not in message:
      return True
    text = message + (str(record.exc_info[1]) if record.exc_info else '')
    return not any(mark in text for mark in _READ_ERROR_MARKS)


def _filter_abandoned_read_reports() -> None:
  if not getattr(sys.unraisablehook, 'drops_abandoned_reads', False):
    previous = sys.unraisablehook

    def hook(unraisable):
      if not _from_abandoned_read(unraisable.exc_value, unraisable.object):
        previous(unraisable)
    hook.drops_abandoned_reads = True
    sys.unraisablehook = hook
  log = logging.getLogger('asyncio')
  if not any(isinstance(f, _AbandonedTaskFilter) for f in log.filters):
    log.addFilter(_AbandonedTaskFilter())


def read_quietly(read: Callable[[int], Any], step: int) -> Any:
  """``read(step)``; if it raises, the error propagates without the reports of the reads it abandoned."""
  _filter_abandoned_read_reports()  # before reading: a read may fail on a loop Orbax closed, even mid-restore
  try:
    return read(step)
  except Exception as e:  # pylint: disable=broad-except  (re-raised below)
    error = e
  error.__traceback__ = error.__context__ = error.__cause__ = None  # its frames hold the abandoned reads
  gc.collect()
  raise error
