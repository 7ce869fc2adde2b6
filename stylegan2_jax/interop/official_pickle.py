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

Hostile and broken files are read within the budget of ``read_limits`` (opcodes,
nesting, bytes made per byte of file, size of hashed keys), with the declared sizes
of zip members checked against what the pickle says each storage holds before any
is inflated; messages describe untrusted values briefly and are built only on failure.
Only regular files are opened (a FIFO or device is refused without blocking).
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

from stylegan2_jax.interop.read_limits import (BoundedReader, brief, budget_for, check_hashable, current_budget,
                                              file_size, open_regular_file)

_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_STORAGE_DTYPES = {
    'FloatStorage': '<f4', 'DoubleStorage': '<f8', 'HalfStorage': '<f2', 'BFloat16Storage': 'bfloat16',
    'LongStorage': '<i8', 'IntStorage': '<i4', 'ShortStorage': '<i2', 'CharStorage': 'i1', 'ByteStorage': 'u1',
    'BoolStorage': '?', 'UntypedStorage': 'u1'}


class UnsafePickleError(Exception):
  """The pickle references a global that is not allowed; nothing from it was executed."""


class UnsupportedPickleError(Exception):
  """The file is not something this reader can read (malformed, unsupported, or over the read limits)."""


@dataclasses.dataclass
class OfficialModule:
  """One persistent network of an official pickle, as plain data."""
  class_name: str                    # e.g. 'Generator', 'Discriminator', 'AugmentPipe'
  init_kwargs: dict                  # constructor kwargs (EasyDict -> dict, numpy scalars -> Python)
  state_dict: dict[str, np.ndarray]  # exactly torch's module.state_dict(), in its order
  module_classes: dict[str, str]     # '' -> root class name, 'synthesis.b4' -> 'SynthesisBlock', ...
  attributes: dict                   # other public attributes of the root module


def _require(ok: Any, message: str, *values) -> None:
  """Raises ``message`` with ``values`` described by ``read_limits.brief`` (formatted only on failure)."""
  if not ok:
    raise UnsupportedPickleError(message.format(*map(brief, values)) if values else message)


class _Sealed:
  """Base of every object the unpickler sees: BUILD opcodes may not modify it."""
  __slots__ = ()

  def __setstate__(self, state):
    raise UnsafePickleError(f'the pickle tried to modify {brief(self)}; nothing from it was executed')


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

  @property
  def nbytes(self) -> int:
    return max(self.numel, 0) * self.dtype.itemsize

  def set_bytes(self, raw):
    _require(len(raw) == self.nbytes, 'storage of {} elements has {} bytes', self.numel, len(raw))
    self.data = np.frombuffer(raw, dtype=self.dtype)


class _Tensor(_Sealed):
  """A tensor view of a storage, made into an array once all storage data has been read."""
  __slots__ = ('storage', 'offset', 'size', 'stride')

  def __init__(self, storage, offset, size, stride, *unused):
    _require(isinstance(storage, _Storage), 'tensor storage is a {}, not a torch storage', storage)
    _require(isinstance(size, (tuple, list)) and isinstance(stride, (tuple, list)) and len(size) <= 64,
             'invalid tensor size {} or stride {}', size, stride)
    self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

  def numpy(self) -> np.ndarray:
    data, size, stride, offset = self.storage.data, self.size, self.stride, self.offset
    _require(data is not None, 'tensor storage data is missing from the file')
    _require(len(size) == len(stride) and all(type(v) is int and v >= 0 for v in size + stride + (offset,)),
             'invalid tensor geometry: size {}, stride {}, offset {}', size, stride, offset)
    native = data.dtype.newbyteorder('=') if data.dtype.byteorder in '<>' else data.dtype
    if 0 in size:
      return np.zeros(size, native)
    _require(offset + sum((n - 1) * s for n, s in zip(size, stride)) < data.size, 'tensor exceeds its storage')
    _require(np.prod(size, dtype=object) <= data.size, 'tensors larger than their storage (expanded) are refused')
    current_budget().add_bytes(int(np.prod(size, dtype=object)) * data.itemsize, 'a tensor')
    strides = [s * data.itemsize for s in stride]
    view = np.lib.stride_tricks.as_strided(data[offset:], shape=size, strides=strides, writeable=False)
    return np.array(view, dtype=native, order='C')


class _DType(_Sealed):
  """``numpy.dtype(spec, align, copy)`` then BUILD(state), restricted to plain numeric dtypes."""
  __slots__ = ('dtype',)

  def __init__(self, spec, align=False, copy=False):
    dtype = np.dtype(spec) if isinstance(spec, str) and len(spec) <= 8 else None
    _require(dtype is not None and dtype.kind in 'biufc' and dtype.fields is None and dtype.subdtype is None,
             'numpy dtype {} is not supported (only plain numeric dtypes)', spec)
    self.dtype = dtype

  def __setstate__(self, state):
    _require(isinstance(state, tuple) and len(state) >= 8 and state[1] in ('<', '>', '|', '=')
             and state[2:5] == (None, None, None), 'unsupported numpy dtype state {}', state)
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
  _require(isinstance(shape, tuple) and len(shape) <= 64 and all(type(n) is int and n >= 0 for n in shape)
           and order in ('C', 'F'), 'invalid numpy array shape {} or order {}', shape, order)
  _require(len(raw) == int(np.prod(shape, dtype=object)) * dtype.dtype.itemsize, 'numpy array has wrong length')
  current_budget().add_bytes(len(raw), 'a numpy array')
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
    _require(kind == 'class', 'persistent object of type {} is not supported (only "class")', kind)
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
  _require(subtype is _ALLOWED[('numpy', 'ndarray')], 'numpy array of type {} is not supported', subtype)
  return _Array()


def _codecs_encode(text, encoding):  # how protocol 2 writes bytes objects
  _require(isinstance(text, str) and encoding == 'latin1', '_codecs.encode is only allowed for latin1 strings')
  return text.encode('latin1')


def _torch_device(kind, index=None) -> str:
  _require(isinstance(kind, str) and kind.isidentifier() and len(kind) <= 16
           and (index is None or (type(index) is int and 0 <= index < 1 << 16)),
           'unsupported torch.device({}, {})', kind, index)
  return kind if index is None else f'{kind}:{index}'


def _checked_items(items):
  """The items given to set/frozenset/OrderedDict, each small enough to hash (``read_limits.MAX_KEY_VALUES``)."""
  _require(isinstance(items, (list, tuple, set, frozenset, dict)), 'unexpected constructor argument {}', items)
  items = list(items)
  for item in items:
    check_hashable(item, UnsupportedPickleError)
  return items


def _ordered_dict(items=()):
  _require(isinstance(items, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in items),
           'unexpected OrderedDict argument {}', items)
  for key, _ in items:
    check_hashable(key, UnsupportedPickleError)
  return collections.OrderedDict(items)


def _storage_dtype(storage_type) -> np.dtype:
  _require(isinstance(storage_type, _Global) and storage_type.name.rpartition('.')[2] in _STORAGE_DTYPES,
           'unsupported tensor storage type {}', storage_type)
  if storage_type.value != 'bfloat16':
    return np.dtype(storage_type.value)
  try:
    import ml_dtypes  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise UnsupportedPickleError('bfloat16 tensors need the ml_dtypes package') from e
  return np.dtype(ml_dtypes.bfloat16)


_ALLOWED = {key: _Global('.'.join(key), fn) for key, fn in {
    ('torch_utils.persistence', '_reconstruct_persistent_obj'): _Persistent,
    ('collections', 'OrderedDict'): _ordered_dict,
    ('torch._utils', '_rebuild_tensor'): _Tensor,
    ('torch._utils', '_rebuild_tensor_v2'): _Tensor,
    ('torch._utils', '_rebuild_parameter'): lambda data, requires_grad, hooks: data,
    ('torch._utils', '_rebuild_parameter_with_state'): lambda data, requires_grad, hooks, state: data,
    ('torch.storage', '_load_from_bytes'): lambda raw: _load_storage_bytes(raw),
    ('torch', 'device'): _torch_device,
    ('builtins', 'set'): lambda items=(): set(_checked_items(items)),
    ('builtins', 'frozenset'): lambda items=(): frozenset(_checked_items(items)),
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


def _hashed_items(unpickler, code: int) -> list:
  """The values an opcode is about to hash: dict keys (SETITEM, SETITEMS, DICT) or set items (ADDITEMS, FROZENSET)."""
  stack = unpickler.stack
  if code == pickle.SETITEM[0]:
    return stack[-2:-1]
  return stack[0::2] if code in (pickle.SETITEMS[0], pickle.DICT[0]) else stack


def _guarded(code: int, load):
  """Opcode ``code`` of the pure-Python unpickler, counted against the budget and with its hazards checked."""
  hashes = code in (pickle.SETITEM[0], pickle.SETITEMS[0], pickle.DICT[0], pickle.ADDITEMS[0], pickle.FROZENSET[0])
  calls = code in (pickle.REDUCE[0], pickle.NEWOBJ[0], pickle.NEWOBJ_EX[0])

  def guarded(self):
    self.budget.count_op()
    if hashes:
      for item in _hashed_items(self, code):
        check_hashable(item, UnsupportedPickleError)
    if calls:  # the C unpickler requires an argument tuple; the Python one would unpack any iterable
      args = self.stack[-2] if code == pickle.NEWOBJ_EX[0] else self.stack[-1]
      _require(type(args) is tuple, 'call arguments are a {}, not a tuple', args)
    load(self)
  return guarded


class _SafeUnpickler(pickle._Unpickler):  # pylint: disable=protected-access
  """Takes globals only from the allowlist, and persistent ids only for torch storages.

  Built on the pure-Python unpickler so that every opcode is counted against the
  file's budget and dict keys / set items are checked before they are hashed.
  Reads never ask the file for more bytes than it holds.
  """
  dispatch = {code: _guarded(code, load)
              for code, load in pickle._Unpickler.dispatch.items()}  # pylint: disable=protected-access

  def __init__(self, file, load_storage=None):
    super().__init__(BoundedReader(file, file_size(file), UnsupportedPickleError))
    self._load_storage = load_storage
    self.budget = current_budget()

  def find_class(self, module, name):
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))  # Python 2 names
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    if (module, name) not in _ALLOWED:
      label = f'{module}.{name}' if len(module) + len(name) < 200 else f'{brief(module)}.{brief(name)}'
      raise UnsafePickleError(f'refusing to load: the pickle references the global "{label}", which is '
                              'not on the allowlist; nothing from the file was executed')
    return _ALLOWED[(module, name)]

  def persistent_load(self, pid):
    _require(self._load_storage and isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == 'storage',
             'unsupported persistent id {} (only torch storages are supported)', pid)
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
    _require(storage.numel >= 0 and storage.nbytes <= file_size(f),
             'a storage of {} elements is larger than the rest of the file', storage.numel)
    current_budget().add_bytes(storage.nbytes, 'a tensor storage')
    storage.set_bytes(f.read(storage.nbytes))
  return obj


_ZIP_CHUNK = 1 << 20


def _read_member(zf: zipfile.ZipFile, name: str, expected: int | None = None, limit: int | None = None) -> bytes:
  """A zip member's bytes, inflated in bounded chunks, checked against its declared and expected sizes.

  The declared size (from the zip header) must equal ``expected`` (what the pickle
  says the storage holds) or be at most ``limit``, and is charged to the budget
  before anything is inflated; reading stops one chunk past it, so a header that
  understates the inflated size is caught instead of trusted.
  """
  info = zf.getinfo(name)
  _require(expected is None or info.file_size == expected,
           'zip member {} holds {} bytes, but the pickle says its storage has {}', name, info.file_size, expected)
  _require(limit is None or info.file_size <= limit, 'zip member {} is too large ({} bytes)', name, info.file_size)
  _require(info.compress_size <= info.file_size + info.file_size // 500 + 1024,  # deflate never grows data more
           'zip member {} has {} compressed bytes for {} declared: its header understates its size',
           name, info.compress_size, info.file_size)
  current_budget().add_bytes(info.file_size, f'zip member {brief(name)}')
  out = bytearray()
  with zf.open(info) as member:
    while chunk := member.read(min(_ZIP_CHUNK, info.file_size - len(out) + 1)):
      out += chunk
      _require(len(out) <= info.file_size, 'zip member {} inflates past its declared {} bytes', name, info.file_size)
  _require(len(out) == info.file_size, 'zip member {} holds {} of its declared {} bytes', name, len(out),
           info.file_size)
  return bytes(out)


def _load_zip(f) -> Any:
  """The zip torch.save format: ``<name>/data.pkl`` plus one raw file per storage in ``<name>/data/``."""
  with zipfile.ZipFile(f) as zf:
    names = set(zf.namelist())
    pickles = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
    _require(len(pickles) == 1, 'this zip file is not a torch.save archive (no single <name>/data.pkl)')
    prefix = pickles[0][:-len('data.pkl')]
    _require(prefix + 'byteorder' not in names or _read_member(zf, prefix + 'byteorder', limit=16).strip() == b'little',
             'big-endian torch files are not supported')
    storages = {}

    def load_storage(storage_type, key, numel):
      _require(isinstance(key, str) and f'{prefix}data/{key}' in names, 'storage {} is missing from the zip file', key)
      if key not in storages:
        storage = _Storage(_storage_dtype(storage_type), numel)
        storage.set_bytes(_read_member(zf, f'{prefix}data/{key}', expected=storage.nbytes))
        storages[key] = storage
      return storages[key]

    return _SafeUnpickler(io.BytesIO(_read_member(zf, pickles[0])), load_storage).load()


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
  budget = current_budget()
  depth = [0]

  def plain(x):
    if x is None or isinstance(x, (bool, int, float, complex, str, bytes, np.ndarray)):
      return x
    if id(x) not in done:
      _require(id(x) not in active, 'the pickle contains a reference cycle')
      active.add(id(x))
      depth[0] += 1
      budget.count_value(depth[0])
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
        _require(isinstance(x, _Persistent), 'unexpected object {} in the pickle data', x)
        done[id(x)] = module(x)
      active.discard(id(x))
      depth[0] -= 1
    return done[id(x)]

  def walk(obj, prefix, state_dict, classes, parents):
    _require(isinstance(obj, _Persistent) and id(obj) not in parents,
             'submodule {} is not a persistent network or forms a cycle', prefix[:-1])
    budget.count_module_entry(len(parents))
    classes[prefix[:-1]] = obj.class_name
    params, buffers, children = (obj.state.get(k) or {} for k in ('_parameters', '_buffers', '_modules'))
    skip = obj.state.get('_non_persistent_buffers_set') or set()
    _require(all(isinstance(d, dict) for d in (params, buffers, children)) and isinstance(skip, (set, frozenset)),
             '{} has a malformed torch module state', obj.class_name)
    _require(all(isinstance(k, str) for d in (params, buffers, children) for k in d),
             'module {} has a parameter, buffer or submodule whose name is not a string', prefix[:-1])
    for name, tensor in [*params.items(), *((k, v) for k, v in buffers.items() if k not in skip)]:
      _require(tensor is None or isinstance(tensor, _Tensor), '{} is not a tensor', prefix + name)
      if tensor is not None:
        budget.count_module_entry(len(parents))
        state_dict[prefix + name] = tensor.numpy()
    for name, child in children.items():
      if child is not None:
        walk(child, f'{prefix}{name}.', state_dict, classes, parents | {id(obj)})

  def module(obj):
    state_dict, classes = {}, {}
    walk(obj, '', state_dict, classes, frozenset())
    _require(isinstance(obj.class_name, str) and len(obj.class_name) <= 200, 'invalid class name {}', obj.class_name)
    init_kwargs = plain(obj.state.get('_init_kwargs') or {})
    _require(isinstance(init_kwargs, dict), '{}._init_kwargs is not a dict', obj.class_name)
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
    _require(isinstance(components, dict) and all(isinstance(c, TF1Network) for c in components.values())
             and all(isinstance(k, str) for k in components), 'TF1 network components are not named networks')
    name, func, kwargs = (plain(state.get(k)) for k in ('name', 'build_func_name', 'static_kwargs'))
    _require(isinstance(name, str) and isinstance(func, str) and isinstance(kwargs, dict)
             and max(len(name), len(func)) <= 200, 'TF1 network without name, build_func_name or static_kwargs')
    return TF1Network(name, func, kwargs, components, dict(variables))

  return plain(root)


def read_pickle(source) -> Any:
  """Reads any pickle or ``torch.save`` file this module understands, as plain data; executes nothing.

  Persistent networks become :class:`OfficialModule`, TF1 networks :class:`TF1Network`,
  tensors and arrays numpy arrays. Raises :class:`UnsafePickleError` or
  :class:`UnsupportedPickleError`.
  """
  if isinstance(source, (str, os.PathLike)):
    with open_regular_file(source, UnsupportedPickleError) as f:
      return read_pickle(f)
  f = source if getattr(source, 'seekable', lambda: False)() else io.BytesIO(source.read())
  try:
    with budget_for(file_size(f), UnsupportedPickleError):
      return _to_plain(_load_any(f))
  except (UnsafePickleError, UnsupportedPickleError):
    raise
  except (pickle.UnpicklingError, EOFError, TypeError, ValueError, KeyError, IndexError, AttributeError,
          struct.error, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RecursionError, MemoryError,
          OverflowError, UnicodeError) as e:
    raise UnsupportedPickleError(f'malformed or unsupported pickle: {type(e).__name__}: {_short(e)}') from e


def _short(error: Exception) -> str:
  text = str(error)
  return text if len(text) <= 200 else text[:200] + '...'


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
  _require(isinstance(result, dict), 'expected a dict at the top level of the pickle, got {}', result)
  return result
