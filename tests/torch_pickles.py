"""Writing torch-style pickles without torch, for the tests of our restricted readers.

``Global`` objects are pickled as GLOBAL opcodes naming ``module.name`` (which need
not exist here), ``Call`` objects as REDUCE ``func(*args)``, ``PersistentId`` as a
persistent id (how torch refers to storages), ``EasyDict`` exactly as
``dnnlib.util.EasyDict`` and ``TFNetwork`` as TF1's ``dnnlib.tflib.network.Network``;
``torch_save_zip`` writes torch's zip file format. ``dumps`` writes them with :class:`StubPickler`.
"""

from __future__ import annotations

import collections
import copyreg
import io
import pickle
import zipfile

import numpy as np


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
    if obj is TFNetwork:
      return self._save_stub_global(Global('dnnlib.tflib.network', 'Network'))
    return super().save_global(obj, name)

  def persistent_id(self, obj):
    return obj.pid if isinstance(obj, PersistentId) else None


def dumps(obj, protocol=4) -> bytes:
  """``pickle.dumps`` with :class:`StubPickler`."""
  f = io.BytesIO()
  StubPickler(f, protocol=protocol).dump(obj)
  return f.getvalue()


class TFNetwork:
  """Pickled exactly like TF1's ``dnnlib.tflib.network.Network``: NEWOBJ, then BUILD with its state dict."""

  def __init__(self, state):
    self.state = state

  def __reduce_ex__(self, protocol):
    return copyreg.__newobj__, (TFNetwork,), self.state


TFNetwork.__module__, TFNetwork.__qualname__ = 'dnnlib.tflib.network', 'Network'


def torch_save_zip(tree, name: str = 'archive') -> bytes:
  """``torch.save``'s zip format for nested dicts of numpy arrays (as float32 tensors), written without torch."""
  storages = []

  def convert(x):
    if isinstance(x, dict):
      return collections.OrderedDict((k, convert(v)) for k, v in x.items())
    if isinstance(x, np.ndarray):
      array = np.ascontiguousarray(x, dtype='<f4')
      key = str(len(storages))
      storages.append((key, array))
      pid = PersistentId(('storage', Global('torch', 'FloatStorage'), key, 'cpu', array.size))
      stride = tuple(int(np.prod(array.shape[i + 1:])) for i in range(array.ndim))
      return Call(Global('torch._utils', '_rebuild_tensor_v2'), pid, 0, array.shape, stride, False,
                  collections.OrderedDict())
    return x

  data = dumps(convert(tree), protocol=2)
  out = io.BytesIO()
  with zipfile.ZipFile(out, 'w') as zf:
    zf.writestr(f'{name}/data.pkl', data)
    zf.writestr(f'{name}/byteorder', 'little')
    for key, array in storages:
      zf.writestr(f'{name}/data/{key}', array.tobytes())
    zf.writestr(f'{name}/version', '3\n')
  return out.getvalue()
