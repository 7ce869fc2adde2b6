"""Writing torch-style pickles without torch, for the tests of our restricted readers.

``Global`` objects are pickled as GLOBAL opcodes naming ``module.name`` (which need
not exist here), ``Call`` objects as REDUCE ``func(*args)``, ``PersistentId`` as a
persistent id (how torch refers to storages), and ``EasyDict`` exactly as
``dnnlib.util.EasyDict``. ``dumps`` writes them with :class:`StubPickler`.
"""

from __future__ import annotations

import io
import pickle


class Global:
  """Pickled as a reference to the global ``module.name``, which need not exist here."""

  def __init__(self, module, name):
    self.module, self.name = module, name

  def __call__(self, *args):
    raise AssertionError('stub globals are only pickled, never called')


class Call:
  """Pickled as ``func(*args)`` (a REDUCE opcode)."""

  def __init__(self, func, *args):
    self.func, self.args = func, args

  def __reduce__(self):
    return self.func, self.args


class PersistentId:
  """Pickled as a persistent id, as torch does for storages."""

  def __init__(self, pid):
    self.pid = pid


class EasyDict(dict):
  """Pickled exactly like ``dnnlib.util.EasyDict`` (NEWOBJ + SETITEMS)."""


EasyDict.__module__, EasyDict.__qualname__ = 'dnnlib.util', 'EasyDict'


class StubPickler(pickle._Pickler):  # pylint: disable=protected-access
  """The pure-Python pickler, writing :class:`Global`, :class:`PersistentId` and :class:`EasyDict` as torch would."""
  dispatch = dict(pickle._Pickler.dispatch)  # pylint: disable=protected-access

  def _save_stub_global(self, obj):
    self.write(pickle.GLOBAL + f'{obj.module}\n{obj.name}\n'.encode('utf-8'))
    self.memoize(obj)

  dispatch[Global] = _save_stub_global

  def save_global(self, obj, name=None):
    if obj is EasyDict:
      return self._save_stub_global(Global('dnnlib.util', 'EasyDict'))
    return super().save_global(obj, name)

  def persistent_id(self, obj):
    return obj.pid if isinstance(obj, PersistentId) else None


def dumps(obj, protocol=4) -> bytes:
  """``pickle.dumps`` with :class:`StubPickler`."""
  f = io.BytesIO()
  StubPickler(f, protocol=protocol).dump(obj)
  return f.getvalue()
