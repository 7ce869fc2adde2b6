"""Reads NVIDIA's official network pickles (StyleGAN2-ADA / StyleGAN3, and the TF1 StyleGAN2 release's
``dnnlib.tflib.network.Network`` tuples) and ``torch.save`` files without running them.

Security model: a pickle is a program whose globals are imported and called, and
the official snapshots also embed Python source (``module_src``) that the official
loader executes. This reader does neither:

* ``find_class`` maps ``(module, name)`` through an explicit allowlist to small
  builders defined here; any other global raises :class:`UnsafePickleError`
  before anything is imported or called.
* ``torch_utils.persistence._reconstruct_persistent_obj`` becomes a builder that
  keeps ``class_name`` and ``state`` and ignores ``module_src``.
* Tensors are rebuilt as numpy arrays from the raw storage bytes; the bytes torch
  embeds (``torch.storage._load_from_bytes``, legacy or zip ``torch.save`` format)
  are read by the same restricted unpickler. torch is never imported.
* Objects given to the unpickler refuse BUILD (so allowed globals cannot be
  patched), and numpy dtypes are limited to plain numbers (no object arrays).
* TF1 networks keep their state as data (``build_module_src`` is never used); only
  BUILD with a dict, once, is accepted on them.
"""

from __future__ import annotations

import _compat_pickle
import collections
import dataclasses
import io
import os
import pickle
import struct
import zipfile
from typing import Any

import numpy as np

_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_STORAGE_DTYPES = {
    'FloatStorage': '<f4', 'DoubleStorage': '<f8', 'HalfStorage': '<f2', 'BFloat16Storage': 'bfloat16',
    'LongStorage': '<i8', 'IntStorage': '<i4', 'ShortStorage': '<i2', 'CharStorage': 'i1', 'ByteStorage': 'u1',
    'BoolStorage': '?', 'UntypedStorage': 'u1'}


class UnsafePickleError(Exception):
  """The pickle references a global that is not allowed; nothing from it was executed."""


class UnsupportedPickleError(Exception):
  """The pickle is well-formed but not something this reader can read."""


@dataclasses.dataclass
class OfficialModule:
  """One persistent network of an official pickle, as plain data."""
  class_name: str                    # e.g. 'Generator', 'Discriminator', 'AugmentPipe'
  init_kwargs: dict                  # constructor kwargs (EasyDict -> dict, numpy scalars -> Python)
  state_dict: dict[str, np.ndarray]  # exactly torch's module.state_dict(), in its order
  module_classes: dict[str, str]     # '' -> root class name, 'synthesis.b4' -> 'SynthesisBlock', ...
  attributes: dict                   # other public attributes of the root module


def _require(ok: Any, message: str) -> None:
  if not ok:
    raise UnsupportedPickleError(message)


class _Sealed:
  """Base of every object the unpickler sees: BUILD opcodes may not modify it."""
  __slots__ = ()

  def __setstate__(self, state):
    raise UnsafePickleError(f'the pickle tried to modify {self!r}; nothing from it was executed')


class _Global(_Sealed):
  """An allowed global: a builder function (``fn``) or a marker carrying ``value``."""
  __slots__ = ('name', 'fn', 'value')

  def __init__(self, name, fn=None, value=None):
    self.name, self.fn, self.value = name, fn, value

  def __call__(self, *args):
    _require(self.fn is not None, f'{self.name} cannot be called here')
    return self.fn(*args)

  def __repr__(self):
    return f'<global {self.name}>'


class _Storage(_Sealed):
  """A torch storage: ``numel`` elements of ``dtype``; ``data`` is filled in when read."""
  __slots__ = ('dtype', 'numel', 'data')

  def __init__(self, dtype, numel):
    self.dtype, self.numel, self.data = dtype, int(numel), None

  def set_bytes(self, raw):
    _require(len(raw) == self.numel * self.dtype.itemsize, f'storage of {self.numel} elements has {len(raw)} bytes')
    self.data = np.frombuffer(raw, dtype=self.dtype)


class _Tensor(_Sealed):
  """A tensor view of a storage, made into an array once all storage data has been read."""
  __slots__ = ('storage', 'offset', 'size', 'stride')

  def __init__(self, storage, offset, size, stride, *unused):
    _require(isinstance(storage, _Storage), f'tensor storage is a {type(storage).__name__}, not a torch storage')
    self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

  def numpy(self) -> np.ndarray:
    data, size, stride, offset = self.storage.data, self.size, self.stride, self.offset
    _require(data is not None, 'tensor storage data is missing from the file')
    _require(len(size) == len(stride) and all(type(v) is int and v >= 0 for v in size + stride + (offset,)),
             f'invalid tensor geometry: size {size}, stride {stride}, offset {offset}')
    native = data.dtype.newbyteorder('=') if data.dtype.byteorder in '<>' else data.dtype
    if 0 in size:
      return np.zeros(size, native)
    _require(offset + sum((n - 1) * s for n, s in zip(size, stride)) < data.size, 'tensor exceeds its storage')
    _require(np.prod(size, dtype=object) <= data.size, 'tensors larger than their storage (expanded) are refused')
    strides = [s * data.itemsize for s in stride]
    view = np.lib.stride_tricks.as_strided(data[offset:], shape=size, strides=strides, writeable=False)
    return np.array(view, dtype=native, order='C')


class _DType(_Sealed):
  """``numpy.dtype(spec, align, copy)`` then BUILD(state), restricted to plain numeric dtypes."""
  __slots__ = ('dtype',)

  def __init__(self, spec, align=False, copy=False):
    dtype = np.dtype(spec) if isinstance(spec, str) else None
    _require(dtype is not None and dtype.kind in 'biufc' and dtype.fields is None and dtype.subdtype is None,
             f'numpy dtype {spec!r} is not supported (only plain numeric dtypes)')
    self.dtype = dtype

  def __setstate__(self, state):
    _require(isinstance(state, tuple) and len(state) >= 8 and state[1] in ('<', '>', '|', '=')
             and state[2:5] == (None, None, None), f'unsupported numpy dtype state {state!r}')
    if state[1] != '|':
      self.dtype = self.dtype.newbyteorder(state[1])


class _Array(_Sealed):
  """``numpy.core.multiarray._reconstruct`` then BUILD(state), or ``numpy.core.numeric._frombuffer``."""
  __slots__ = ('array',)

  def __init__(self, array=None):
    self.array = array

  def __setstate__(self, state):
    _require(isinstance(state, tuple) and len(state) in (4, 5), 'unsupported numpy array state')
    shape, dtype, fortran, raw = state[-4:]
    self.array = _array_from_bytes(raw, dtype, shape, 'F' if fortran else 'C')


def _array_from_bytes(raw, dtype, shape, order) -> np.ndarray:
  _require(isinstance(dtype, _DType) and isinstance(raw, (bytes, bytearray)),
           'numpy array without a plain numeric dtype and raw bytes (object arrays are refused)')
  _require(isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape) and order in ('C', 'F'),
           f'invalid numpy array shape {shape!r} or order {order!r}')
  _require(len(raw) == int(np.prod(shape, dtype=np.int64)) * dtype.dtype.itemsize, 'numpy array has wrong length')
  return np.frombuffer(bytes(raw), dtype=dtype.dtype).reshape(shape, order=order).copy()


class _EasyDict(dict):
  """Stands in for ``dnnlib.util.EasyDict`` (pickled with NEWOBJ); becomes a plain dict."""

  def __setstate__(self, state):
    _require(not state, 'unexpected attribute state on dnnlib.util.EasyDict')


class _Persistent(_Sealed):
  """``torch_utils.persistence._reconstruct_persistent_obj(meta)``, keeping only class name and state."""
  __slots__ = ('class_name', 'state')

  def __init__(self, meta):
    kind = meta.get('type') if isinstance(meta, dict) else type(meta).__name__
    _require(kind == 'class', f'persistent object of type {kind!r} is not supported (only "class")')
    _require(isinstance(meta.get('class_name'), str) and isinstance(meta.get('state'), dict),
             'persistent object without a class_name and a state dict')
    self.class_name, self.state = meta['class_name'], meta['state']  # meta['module_src'] is never used


class _TFNetwork:
  """TF1's ``dnnlib.tflib.network.Network``: NEWOBJ, then BUILD with its state dict (kept as data)."""
  __slots__ = ('state',)

  def __setstate__(self, state):
    _require(isinstance(state, dict) and not hasattr(self, 'state'), 'malformed TF1 network state')
    self.state = state


@dataclasses.dataclass
class TF1Network:
  """One ``dnnlib.tflib.network.Network`` of a TF1 pickle, as plain data (its build source is never used)."""
  name: str
  build_func_name: str
  static_kwargs: dict
  components: dict                   # sub-networks by name (e.g. 'mapping', 'synthesis'), TF1Network each
  variables: dict[str, np.ndarray]   # this network's own variables, e.g. '4x4/Conv/weight'


def _numpy_scalar(dtype, raw):
  _require(isinstance(dtype, _DType) and isinstance(raw, bytes) and len(raw) == dtype.dtype.itemsize,
           'numpy scalar without a plain numeric dtype and raw bytes')
  return np.frombuffer(raw, dtype=dtype.dtype)[0].item()


def _numpy_reconstruct(subtype, shape, typecode):
  _require(subtype is _ALLOWED[('numpy', 'ndarray')], f'numpy array of type {subtype!r} is not supported')
  return _Array()


def _codecs_encode(text, encoding):  # how protocol 2 writes bytes objects
  _require(isinstance(text, str) and encoding == 'latin1', '_codecs.encode is only allowed for latin1 strings')
  return text.encode('latin1')


def _storage_dtype(storage_type) -> np.dtype:
  _require(isinstance(storage_type, _Global) and storage_type.name.rpartition('.')[2] in _STORAGE_DTYPES,
           f'unsupported tensor storage type {storage_type!r}')
  if storage_type.value != 'bfloat16':
    return np.dtype(storage_type.value)
  try:
    import ml_dtypes  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise UnsupportedPickleError('bfloat16 tensors need the ml_dtypes package') from e
  return np.dtype(ml_dtypes.bfloat16)


_ALLOWED = {key: _Global('.'.join(key), fn) for key, fn in {
    ('torch_utils.persistence', '_reconstruct_persistent_obj'): _Persistent,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor'): _Tensor,
    ('torch._utils', '_rebuild_tensor_v2'): _Tensor,
    ('torch._utils', '_rebuild_parameter'): lambda data, requires_grad, hooks: data,
    ('torch._utils', '_rebuild_parameter_with_state'): lambda data, requires_grad, hooks, state: data,
    ('torch.storage', '_load_from_bytes'): lambda raw: _load_storage_bytes(raw),
    ('torch', 'device'): lambda kind, index=None: str(kind) if index is None else f'{kind}:{int(index)}',
    ('builtins', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('_codecs', 'encode'): _codecs_encode,
    ('numpy', 'ndarray'): None,
    **{(f'numpy.{core}.multiarray', 'scalar'): _numpy_scalar for core in ('core', '_core')},
    **{(f'numpy.{core}.multiarray', '_reconstruct'): _numpy_reconstruct for core in ('core', '_core')},
    **{(f'numpy.{core}.numeric', '_frombuffer'): lambda buf, dtype, shape, order: _Array(
        _array_from_bytes(buf, dtype, shape, order)) for core in ('core', '_core')},
}.items()}
_ALLOWED.update({(mod, name): _Global(f'{mod}.{name}', value=spec) for name, spec in _STORAGE_DTYPES.items()
                 for mod in ('torch', 'torch.cuda')})
_ALLOWED[('torch.storage', 'UntypedStorage')] = _Global('torch.storage.UntypedStorage', value='u1')
_ALLOWED[('numpy', 'dtype')] = _DType            # classes: numpy writes dtypes as REDUCE + BUILD,
_ALLOWED[('dnnlib.util', 'EasyDict')] = _EasyDict  # and EasyDicts as NEWOBJ + SETITEMS
_ALLOWED[('dnnlib.tflib.network', 'Network')] = _TFNetwork  # TF1 networks as NEWOBJ + BUILD


class _SafeUnpickler(pickle.Unpickler):
  """Takes globals only from the allowlist, and persistent ids only for torch storages."""

  def __init__(self, file, load_storage=None):
    super().__init__(file)
    self._load_storage = load_storage

  def find_class(self, module, name):
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))  # Python 2 names
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    if (module, name) not in _ALLOWED:
      raise UnsafePickleError(f'refusing to load: the pickle references the global "{module}.{name}", which is '
                              'not on the allowlist; nothing from the file was executed')
    return _ALLOWED[(module, name)]

  def persistent_load(self, pid):
    _require(self._load_storage and isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == 'storage',
             f'unsupported persistent id {pid!r} (only torch storages are supported)')
    _require(len(pid) == 5 or pid[5] is None, 'torch storage views (torch < 1.0) are not supported')
    return self._load_storage(pid[1], pid[2], pid[4])


def _load_legacy(f) -> Any:
  """The legacy torch.save stream: magic, version, sys info, object, storage keys, raw storages."""
  _require(_SafeUnpickler(f).load() == _LEGACY_MAGIC and _SafeUnpickler(f).load() == 1001,
           'bad magic number or protocol version in a legacy torch.save stream')
  sys_info = _SafeUnpickler(f).load()
  _require(isinstance(sys_info, dict) and sys_info.get('little_endian'), 'big-endian torch files are not supported')
  storages = {}

  def load_storage(storage_type, key, numel):
    return storages.setdefault(key, _Storage(_storage_dtype(storage_type), numel))

  obj = _SafeUnpickler(f, load_storage).load()
  keys = _SafeUnpickler(f).load()
  _require(isinstance(keys, list) and set(keys) == set(storages), 'legacy torch.save stream has unknown storages')
  for key in keys:
    storage = storages[key]
    storage.numel = struct.unpack('<q', f.read(8))[0]
    storage.set_bytes(f.read(max(storage.numel, 0) * storage.dtype.itemsize))
  return obj


def _load_zip(f) -> Any:
  """The zip torch.save format: ``<name>/data.pkl`` plus one raw file per storage in ``<name>/data/``."""
  with zipfile.ZipFile(f) as zf:
    names = zf.namelist()
    pickles = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
    _require(len(pickles) == 1, 'this zip file is not a torch.save archive (no single <name>/data.pkl)')
    prefix = pickles[0][:-len('data.pkl')]
    _require(prefix + 'byteorder' not in names or zf.read(prefix + 'byteorder').strip() == b'little',
             'big-endian torch files are not supported')
    storages = {}

    def load_storage(storage_type, key, numel):
      if key not in storages:
        storages[key] = _Storage(_storage_dtype(storage_type), numel)
        storages[key].set_bytes(zf.read(f'{prefix}data/{key}'))
      return storages[key]

    return _SafeUnpickler(io.BytesIO(zf.read(pickles[0])), load_storage).load()


def _load_any(f) -> Any:
  start = f.tell()
  head = f.read(16)
  f.seek(start)
  if head.startswith(b'PK\x03\x04'):
    return _load_zip(f)
  magic = b'\x8a\x0a' + _LEGACY_MAGIC.to_bytes(10, 'little')
  if head.startswith(magic) or head[2:].startswith(magic):
    return _load_legacy(f)
  return _SafeUnpickler(f).load()


def _load_storage_bytes(raw) -> _Storage:
  storage = _load_any(io.BytesIO(raw)) if isinstance(raw, (bytes, bytearray)) else None
  _require(isinstance(storage, _Storage), 'torch.storage._load_from_bytes did not get a serialized storage')
  return storage


def _to_plain(root: Any) -> Any:
  """Converts the unpickled objects to plain data, turning persistent objects into OfficialModules."""
  done, active = {}, set()

  def plain(x):
    if x is None or isinstance(x, (bool, int, float, complex, str, bytes, np.ndarray)):
      return x
    if id(x) not in done:
      _require(id(x) not in active, 'the pickle contains a reference cycle')
      active.add(id(x))
      if isinstance(x, dict):
        done[id(x)] = {plain(k): plain(v) for k, v in x.items()}
      elif isinstance(x, (list, tuple, set, frozenset)):
        done[id(x)] = type(x)(plain(v) for v in x)
      elif isinstance(x, bytearray):
        done[id(x)] = bytes(x)
      elif isinstance(x, _Tensor):
        done[id(x)] = x.numpy()
      elif isinstance(x, _Array) and x.array is not None:
        done[id(x)] = x.array
      elif isinstance(x, _TFNetwork):
        done[id(x)] = tf1_network(x)
      else:
        _require(isinstance(x, _Persistent), f'unexpected object {x!r} in the pickle data')
        done[id(x)] = module(x)
      active.discard(id(x))
    return done[id(x)]

  def walk(obj, prefix, state_dict, classes, parents):
    _require(isinstance(obj, _Persistent) and id(obj) not in parents,
             f'submodule {prefix[:-1]!r} is not a persistent network or forms a cycle')
    classes[prefix[:-1]] = obj.class_name
    params, buffers, children = (obj.state.get(k) or {} for k in ('_parameters', '_buffers', '_modules'))
    skip = obj.state.get('_non_persistent_buffers_set') or set()
    _require(all(isinstance(d, dict) for d in (params, buffers, children)) and isinstance(skip, (set, frozenset)),
             f'{obj.class_name} has a malformed torch module state')
    for name, tensor in [*params.items(), *((k, v) for k, v in buffers.items() if k not in skip)]:
      _require(tensor is None or isinstance(tensor, _Tensor), f'{prefix}{name} is not a tensor')
      if tensor is not None:
        state_dict[prefix + name] = tensor.numpy()
    for name, child in children.items():
      if child is not None:
        walk(child, f'{prefix}{name}.', state_dict, classes, parents | {id(obj)})

  def module(obj):
    state_dict, classes = {}, {}
    walk(obj, '', state_dict, classes, frozenset())
    init_kwargs = plain(obj.state.get('_init_kwargs') or {})
    _require(isinstance(init_kwargs, dict), f'{obj.class_name}._init_kwargs is not a dict')
    attributes = {k: plain(v) for k, v in obj.state.items()
                  if isinstance(k, str) and not k.startswith('_') and k != 'training'}
    return OfficialModule(obj.class_name, init_kwargs, state_dict, classes, attributes)

  def tf1_network(obj):
    _require(hasattr(obj, 'state'), 'TF1 network without state')
    state = obj.state
    variables, components = plain(state.get('variables') or []), plain(state.get('components') or {})
    _require(isinstance(variables, (list, tuple)) and all(
        isinstance(v, (list, tuple)) and len(v) == 2 and isinstance(v[0], str)
        and isinstance(v[1], (np.ndarray, int, float)) and not isinstance(v[1], bool) for v in variables),
        'TF1 network variables are not a list of (name, array)')
    # Scalar variables (noise strengths, lod) were pickled as numpy scalars, which come back as Python numbers.
    variables = [(k, v if isinstance(v, np.ndarray) else np.asarray(v, np.float32)) for k, v in variables]
    _require(isinstance(components, dict) and all(isinstance(c, TF1Network) for c in components.values()),
             'TF1 network components are not networks')
    name, func, kwargs = (plain(state.get(k)) for k in ('name', 'build_func_name', 'static_kwargs'))
    _require(isinstance(name, str) and isinstance(func, str) and isinstance(kwargs, dict),
             'TF1 network without name, build_func_name or static_kwargs')
    return TF1Network(name, func, kwargs, components, dict(variables))

  return plain(root)


def read_pickle(source) -> Any:
  """Reads any pickle or ``torch.save`` file this module understands, as plain data; executes nothing.

  Persistent networks become :class:`OfficialModule`, TF1 networks :class:`TF1Network`,
  tensors and arrays numpy arrays. Raises :class:`UnsafePickleError` or
  :class:`UnsupportedPickleError`.
  """
  if isinstance(source, (str, os.PathLike)):
    with open(source, 'rb') as f:
      return read_pickle(f)
  f = source if getattr(source, 'seekable', lambda: False)() else io.BytesIO(source.read())
  try:
    return _to_plain(_load_any(f))
  except (UnsafePickleError, UnsupportedPickleError):
    raise
  except (pickle.UnpicklingError, EOFError, TypeError, ValueError, KeyError, IndexError, AttributeError,
          struct.error, zipfile.BadZipFile, RecursionError, MemoryError, OverflowError) as e:
    raise UnsupportedPickleError(f'malformed or unsupported pickle: {type(e).__name__}: {e}') from e


def load_official_pickle(source) -> dict:
  """Loads an official network pickle (a path or a binary file) without executing anything from it.

  Returns the pickle's top-level dict with every persistent network replaced by an
  :class:`OfficialModule` and everything else as plain data. Also reads ``torch.save``
  files (zip or legacy format) whose top level is a dict. Raises
  :class:`UnsafePickleError` or :class:`UnsupportedPickleError`.
  """
  result = read_pickle(source)
  _require(not (isinstance(result, tuple) and result and all(isinstance(n, TF1Network) for n in result)),
           'this is a TensorFlow (TF1) StyleGAN2 pickle: read it with stylegan2_jax.loading.load_networks')
  _require(isinstance(result, dict), f'expected a dict at the top level of the pickle, got {type(result).__name__}')
  return result
