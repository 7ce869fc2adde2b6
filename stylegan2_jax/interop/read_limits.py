"""Limits for reading untrusted network files, and the helpers that enforce them.

A network file may be hostile or broken: a pickle whose shared references make a
tiny file expand exponentially when walked or printed ("billion laughs"), a zip
whose members inflate far past their compressed size, a FIFO or device instead of
a file. The readers in ``official_pickle`` work within an explicit budget per file,
so time and memory stay proportional to the file's size:

* ``MAX_OBJECTS``: at most this many pickle opcodes are executed, and at most this
  many values are visited when the result is turned into plain data (shared values
  are converted once; a value reached again through another path is not walked
  again). An official 1024x1024 snapshot needs well under a tenth of it.
* ``MAX_MODULE_ENTRIES``: submodules and tensors met while walking the module trees,
  counted per path as torch's ``state_dict`` walks them (so a submodule shared by two
  parents counts twice). An official 1024x1024 G has about a thousand.
* ``MAX_DEPTH``: containers and modules nest at most this deep (official snapshots
  nest about 20 deep).
* ``MAX_EXPANSION`` and ``BYTES_ALLOWANCE``: the storages and arrays made from a
  file total at most ``MAX_EXPANSION * file size + BYTES_ALLOWANCE`` bytes. torch,
  numpy and TF1 store tensor bytes uncompressed, so a real file needs about 1x.
* ``MAX_KEY_VALUES``: a dict key or set item (hashed while reading) holds at most
  this many values, so hashing a shared nested tuple cannot run away.

Messages never format untrusted values in full: :func:`brief` describes a value
in a bounded number of characters, without walking it.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat

MAX_OBJECTS = 1_000_000          # pickle opcodes executed, and values visited while converting, per file
MAX_MODULE_ENTRIES = 100_000     # submodules and tensors walked in the module trees, per file
MAX_DEPTH = 64                   # nesting of containers and modules
MAX_EXPANSION = 4                # bytes of storages and arrays made, per byte of the file
BYTES_ALLOWANCE = 16 << 20       # plus this many bytes, whatever the file size
MAX_KEY_VALUES = 256             # values in one dict key or set item (they are hashed)
MAX_TEXT = 60                    # characters of an untrusted string shown in a message


class ReadLimitError(ValueError):
  """A file exceeds the reader's budget or is not a regular file (readers may raise their own error instead)."""


def brief(value) -> str:
  """A short description of an untrusted value, built in constant time (never walks or fully formats it)."""
  if value is None or isinstance(value, (bool, float, complex)):
    return repr(value)
  if isinstance(value, int):
    return repr(value) if value.bit_length() <= 64 else f'<int of {value.bit_length()} bits>'
  if isinstance(value, (str, bytes, bytearray)):
    text = repr(value[:MAX_TEXT])
    return text if len(value) <= MAX_TEXT else f'{text}... ({len(value)} long)'
  if isinstance(value, (tuple, list, dict, set, frozenset)):
    return f'<{type(value).__name__} of {len(value)} items>'
  name = getattr(type(value), '__name__', 'object')
  label = getattr(value, 'name', None) if name == '_Global' else None
  return f'<global {label}>' if isinstance(label, str) else f'<{name}>'


def brief_list(values, limit: int = 8) -> str:
  """Up to ``limit`` values described with :func:`brief`, e.g. for the keys found in a file."""
  values = list(values)
  shown = ', '.join(v if isinstance(v, str) and len(v) <= MAX_TEXT else brief(v) for v in values[:limit])
  return f'[{shown}{", ..." if len(values) > limit else ""}] ({len(values)} in all)'


class Budget:
  """What one file may still cost: opcodes, converted values, bytes made (see the module docstring)."""

  def __init__(self, file_size: int, error=ReadLimitError):
    self.ops = self.values = self.module_entries = 0
    self.bytes = 0
    self.max_bytes = MAX_EXPANSION * max(int(file_size), 0) + BYTES_ALLOWANCE
    self.error = error

  def count_op(self) -> None:
    self.ops += 1
    if self.ops > MAX_OBJECTS:
      raise self.error(f'the pickle runs more than {MAX_OBJECTS} opcodes (MAX_OBJECTS); refusing to read further')

  def count_value(self, depth: int) -> None:
    self.values += 1
    if self.values > MAX_OBJECTS:
      raise self.error(f'the pickle expands to more than {MAX_OBJECTS} values (MAX_OBJECTS), e.g. through '
                       'shared references; refusing to read further')
    if depth > MAX_DEPTH:
      raise self.error(f'the pickle nests more than {MAX_DEPTH} levels deep (MAX_DEPTH)')

  def count_module_entry(self, depth: int) -> None:
    self.module_entries += 1
    if self.module_entries > MAX_MODULE_ENTRIES:
      raise self.error(f'the networks hold more than {MAX_MODULE_ENTRIES} submodules and tensors '
                       '(MAX_MODULE_ENTRIES), e.g. a submodule shared through many paths; refusing to read further')
    if depth > MAX_DEPTH:
      raise self.error(f'the networks nest more than {MAX_DEPTH} modules deep (MAX_DEPTH)')

  def add_bytes(self, n: int, what: str) -> None:
    """Accounts for ``n`` bytes about to be made for ``what``; raises before they are allocated if over budget."""
    self.bytes += max(int(n), 0)
    if self.bytes > self.max_bytes:
      raise self.error(f'{what} would take the data read from this file past {self.max_bytes} bytes '
                       f'({MAX_EXPANSION}x the file size + {BYTES_ALLOWANCE >> 20} MiB, MAX_EXPANSION); '
                       'the file declares more data than it holds')


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar('read_budget', default=None)


def current_budget() -> Budget:
  """The budget of the file being read (a generous default outside :func:`budget_for`)."""
  budget = _CURRENT.get()
  return budget if budget is not None else Budget(0)


@contextlib.contextmanager
def budget_for(file_size: int, error=ReadLimitError):
  """Makes a fresh :class:`Budget` for a file of ``file_size`` bytes current for nested reads; reentrant."""
  if _CURRENT.get() is not None:  # an embedded file (torch's storage bytes) shares the outer file's budget
    yield _CURRENT.get()
    return
  token = _CURRENT.set(Budget(file_size, error))
  try:
    yield _CURRENT.get()
  finally:
    _CURRENT.reset(token)


def check_hashable(value, error=ReadLimitError) -> None:
  """Refuses a dict key or set item whose hashing would visit more than ``MAX_KEY_VALUES`` values."""
  pending, seen = [value], 0
  while pending:
    item = pending.pop()
    seen += 1
    if seen > MAX_KEY_VALUES:
      raise error(f'a dict key or set item holds more than {MAX_KEY_VALUES} values (MAX_KEY_VALUES)')
    if isinstance(item, (tuple, frozenset)):
      pending.extend(item)


class BoundedReader:
  """A binary file restricted to its remaining bytes: a read of more than the file holds is refused, not tried."""

  def __init__(self, f, size: int, error=ReadLimitError):
    self._f, self._end, self._error = f, f.tell() + size, error

  def _left(self) -> int:
    return max(self._end - self._f.tell(), 0)

  def read(self, n: int = -1) -> bytes:
    left = self._left()
    if n is not None and n > left:
      raise self._error(f'the file is truncated or lies about a size: {n} bytes wanted where {left} remain')
    return self._f.read(left if n is None or n < 0 else n)

  def readline(self, limit: int = -1) -> bytes:
    return self._f.readline(self._left() if limit is None or limit < 0 else min(limit, self._left()))

  def readinto(self, buf) -> int:
    data = self.read(len(buf))
    buf[:len(data)] = data
    return len(data)


def file_size(f) -> int:
  """Bytes from the current position to the end of a seekable binary file."""
  start = f.tell()
  end = f.seek(0, os.SEEK_END)
  f.seek(start)
  return end - start


def open_regular_file(path: str | os.PathLike, error=ReadLimitError):
  """Opens ``path`` for binary reading if it is a regular file; FIFOs, devices and sockets are refused.

  The file is opened without blocking and checked on the open descriptor, so a FIFO
  never hangs the reader and a path swapped after a check is still caught.
  """
  fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0))
  try:
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
      raise error(f'{path} is {describe_mode(mode)}, not a regular file')
    if hasattr(os, 'set_blocking'):
      os.set_blocking(fd, True)
    return os.fdopen(fd, 'rb')
  except BaseException:
    os.close(fd)
    raise


def describe_mode(mode: int) -> str:
  """'a FIFO', 'a character device', ... for an ``st_mode``."""
  for test, text in ((stat.S_ISFIFO, 'a FIFO (named pipe)'), (stat.S_ISCHR, 'a character device'),
                     (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'), (stat.S_ISDIR, 'a directory')):
    if test(mode):
      return text
  return 'not a regular file'


def check_network_path(path: str | os.PathLike, error=ReadLimitError) -> None:
  """Refuses a network path that is neither a regular file nor a directory (a FIFO would hang, a device never end)."""
  mode = os.stat(path).st_mode
  if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
    raise error(f'{path} is {describe_mode(mode)}; a network must be a regular file or a directory')
