"""Records every file a training process writes or creates under a directory (used by the launcher tests).

Put this folder first on PYTHONPATH and set ``AUDIT_WRITES_UNDER`` (the workdir)
and ``AUDIT_WRITES_TO`` (a file outside it): each process appends one line
``<process_id> <event> <path>`` per write, mkdir, rename or removal it makes
under the workdir through Python.
"""

import os
import sys

_ROOT = os.environ.get('AUDIT_WRITES_UNDER')
_LOG = os.environ.get('AUDIT_WRITES_TO')
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _process_id() -> str:
  for arg in sys.argv:
    if arg.startswith('--process_id='):
      return arg.split('=', 1)[1]
  return '-'


def _is_write(event: str, args) -> bool:
  if event == 'open':
    mode, flags = args[1], args[2]
    if isinstance(mode, str):
      return any(c in mode for c in 'wax+')
    return bool((flags or 0) & _WRITE_FLAGS)
  return event in ('os.mkdir', 'os.rename', 'os.replace', 'os.remove', 'os.rmdir', 'shutil.rmtree', 'shutil.move')


def _hook(event: str, args) -> None:
  if not _is_write(event, args) or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
    return
  path = os.path.abspath(os.fsdecode(args[0]))
  if path.startswith(_ROOT + os.sep) or path == _ROOT:
    with open(_LOG, 'a') as f:
      f.write(f'{_process_id()} {event} {path}\n')


if _ROOT and _LOG:
  _ROOT = os.path.abspath(_ROOT)
  sys.addaudithook(_hook)
