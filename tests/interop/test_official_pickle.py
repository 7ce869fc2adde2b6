"""The safe reader of NVIDIA's official network pickles (no torch needed).

Pickles that name torch / dnnlib / torch_utils globals are written here without
those packages (``tests/torch_pickles.py``): ``_Global`` objects become GLOBAL
opcodes, ``_Call`` objects become REDUCE, and ``_legacy_storage_bytes`` produces torch's
legacy ``torch.save`` layout of one storage, as ``torch.storage._load_from_bytes``
receives it in real snapshots.
"""

import builtins
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import fixture_path
from torch_pickles import (Call as _Call, EasyDict, Global as _Global, PersistentId as _PersistentId, TFNetwork,
                           dumps as _dumps)

from stylegan2_jax.interop.official_pickle import (OfficialModule, UnsafePickleError, UnsupportedPickleError,
                                                   load_official_pickle)

SNAPSHOT = 'network-snapshot-res32-nosrc.pkl'
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


# Writing official-format pickles without torch (tests/torch_pickles.py). ------------------------------------

def _legacy_storage_bytes(values, storage_type='FloatStorage', dtype='<f4', key='94635985814016'):
  """torch's legacy torch.save layout of one storage, with protocol-2 pickles."""
  flat = np.ascontiguousarray(values, dtype=dtype).ravel()
  sys_info = {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}
  pid = ('storage', _Global('torch', storage_type), key, 'cpu', flat.size, None)
  parts = [pickle.dumps(x, protocol=2) for x in (LEGACY_MAGIC, 1001, sys_info)]
  parts += [_dumps(_PersistentId(pid), protocol=2), pickle.dumps([key], protocol=2)]
  return b''.join(parts) + struct.pack('<q', flat.size) + flat.tobytes()


def _storage(values, **kwargs):
  return _Call(_Global('torch.storage', '_load_from_bytes'), _legacy_storage_bytes(values, **kwargs))


def _tensor(storage, size, stride=None, offset=0, parameter=False):
  if stride is None:
    stride = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
  tensor = _Call(_Global('torch._utils', '_rebuild_tensor_v2'), storage, offset, tuple(size), tuple(stride), False,
                 collections.OrderedDict())
  if parameter:
    return _Call(_Global('torch._utils', '_rebuild_parameter'), tensor, True, collections.OrderedDict())
  return tensor


def _network(class_name, params=(), buffers=(), children=(), non_persistent=(), init_kwargs=None,
             module_src='# unused', **attributes):
  """A persistent network as torch_utils.persistence pickles it."""
  state = {'training': False, '_parameters': dict(params), '_buffers': dict(buffers),
           '_non_persistent_buffers_set': set(non_persistent), '_backward_hooks': collections.OrderedDict(),
           '_forward_hooks': collections.OrderedDict(), '_modules': dict(children), '_init_args': (),
           '_init_kwargs': init_kwargs or {}, **attributes}
  meta = {'type': 'class', 'version': 6, 'module_src': module_src, 'class_name': class_name, 'state': state}
  return _Call(_Global('torch_utils.persistence', '_reconstruct_persistent_obj'), meta)


def _load_bytes(data):
  return load_official_pickle(io.BytesIO(data))


# 1. The official-format fixture snapshot. ------------------------------------------------------------------------

@pytest.fixture(scope='module')
def snapshot():
  return load_official_pickle(fixture_path(SNAPSHOT))


def _tupled(x):
  if isinstance(x, dict):
    return {k: _tupled(v) for k, v in x.items()}
  return tuple(_tupled(v) for v in x) if isinstance(x, (list, tuple)) else x


def test_snapshot_top_level(snapshot):
  assert set(snapshot) == {'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}
  assert all(isinstance(snapshot[k], OfficialModule) for k in ('G', 'D', 'G_ema'))
  assert (snapshot['G_ema'].class_name, snapshot['D'].class_name) == ('Generator', 'Discriminator')


@pytest.mark.parametrize('key, npz_name', [('G_ema', 'g_res32_skip.npz'), ('D', 'd_res32_resnet.npz')])
def test_snapshot_matches_fixture_npz(snapshot, key, npz_name):
  with np.load(fixture_path(npz_name)) as npz:
    expected = {k: npz[k] for k in npz.files if '.' in k}
    init_kwargs = json.loads(str(npz['init_kwargs_json']))
  module = snapshot[key]
  assert list(module.state_dict) == list(expected)  # same names, in torch's registration order
  for name, ref in expected.items():
    got = module.state_dict[name]
    assert type(got) is np.ndarray and got.dtype == ref.dtype and got.shape == ref.shape, name
    assert got.tobytes() == ref.tobytes(), name
    assert got.flags.c_contiguous and got.flags.writeable, name
  assert _tupled(module.init_kwargs) == _tupled(init_kwargs)


def test_snapshot_g_differs_from_g_ema(snapshot):
  g, g_ema = snapshot['G'].state_dict, snapshot['G_ema'].state_dict
  assert list(g) == list(g_ema)
  assert any(not np.array_equal(g[k], g_ema[k]) for k in g)


def test_snapshot_module_classes_and_attributes(snapshot):
  g = snapshot['G_ema']
  assert g.module_classes[''] == 'Generator'
  assert g.module_classes['synthesis'] == 'SynthesisNetwork'
  assert g.module_classes['synthesis.b32'] == 'SynthesisBlock'
  assert g.module_classes['mapping.fc7'] == 'FullyConnectedLayer'
  assert g.attributes['num_ws'] == 8 and g.attributes['z_dim'] == 64
  assert snapshot['D'].module_classes['b4'] == 'DiscriminatorEpilogue'


class _Unseekable(io.RawIOBase):
  def __init__(self, f):
    super().__init__()
    self.read = f.read


@pytest.mark.parametrize('seekable', [True, False])
def test_snapshot_from_file_object(seekable):
  with open(fixture_path(SNAPSHOT), 'rb') as f:
    result = load_official_pickle(f if seekable else _Unseekable(f))
  assert isinstance(result['D'], OfficialModule)


def test_loading_imports_nothing_named_by_the_file(tmp_path):
  code = ('import sys; from stylegan2_jax.interop.official_pickle import load_official_pickle; '
          f'load_official_pickle({str(fixture_path(SNAPSHOT))!r}); '
          'bad = [m for m in sys.modules if m.split(".")[0] in ("torch", "torch_utils", "dnnlib", "training")]; '
          'assert not bad, bad')
  subprocess.run([sys.executable, '-c', code], check=True, cwd=tmp_path)


# 2. Malicious and unsupported pickles. ---------------------------------------------------------------------------

@pytest.fixture
def marker(tmp_path):
  """A file that the payloads would create if anything from the pickle ran."""
  path = tmp_path / 'executed'
  yield path
  assert not path.exists(), 'code from the pickle was executed'


PAYLOADS = {
    'os.system': lambda marker: _Call(os.system, f'touch {marker}'),
    'subprocess.Popen': lambda marker: _Call(subprocess.Popen, ['touch', str(marker)]),
    'builtins.eval': lambda marker: _Call(eval, f'open({str(marker)!r}, "w").close()'),
    'builtins.exec': lambda marker: _Call(exec, f'open({str(marker)!r}, "w").close()'),
    'builtins.getattr': lambda marker: _Call(getattr, 'abc', 'upper'),
    'builtins.__import__': lambda marker: _Call(builtins.__import__, 'os'),
}


@pytest.mark.parametrize('where', ['top_level', 'inside_snapshot'])
@pytest.mark.parametrize('payload', list(PAYLOADS))
def test_malicious_globals_are_refused(marker, payload, where):
  call = PAYLOADS[payload](marker)
  qualified = f'{call.func.__module__}.{call.func.__name__}'  # os.system is posix.system on Linux
  if where == 'top_level':
    data = pickle.dumps(call)
  else:  # hidden in the constructor kwargs of an otherwise valid network
    weight = _tensor(_storage(np.ones(4)), (2, 2), parameter=True)
    G = _network('Generator', params=[('weight', weight)], init_kwargs={'z_dim': 4, 'extra': EasyDict(x=call)})
    data = _dumps({'G_ema': G, 'training_set_kwargs': None})
  with pytest.raises(UnsafePickleError, match='nothing from the file was executed') as info:
    _load_bytes(data)
  assert f'"{qualified}"' in str(info.value)


def test_bad_global_inside_storage_bytes(marker):
  inner = b''.join(pickle.dumps(x, protocol=2) for x in (LEGACY_MAGIC, 1001, {'little_endian': True}))
  inner += pickle.dumps(_Call(os.system, f'touch {marker}'), protocol=2)
  data = _dumps({'x': _tensor(_Call(_Global('torch.storage', '_load_from_bytes'), inner), (1,))})
  with pytest.raises(UnsafePickleError, match=f'"{os.system.__module__}.system"'):
    _load_bytes(data)


def test_unknown_storage_type_is_refused():
  data = _dumps({'x': _tensor(_storage(np.zeros(2), storage_type='ComplexFloatStorage'), (2,))})
  with pytest.raises(UnsafePickleError, match='"torch.ComplexFloatStorage"'):
    _load_bytes(data)


def test_module_src_is_never_executed(marker):
  source = f'open({str(marker)!r}, "w").close()\nraise SystemExit(1)\n'
  result = _load_bytes(_dumps({'G': _network('Generator', module_src=source)}))
  assert result['G'].class_name == 'Generator' and result['G'].state_dict == {}


def test_persistent_object_must_be_a_class(marker):
  meta = {'type': 'function', 'version': 6, 'module_src': f'open({str(marker)!r}, "w")', 'class_name': 'f',
          'state': {}}
  data = _dumps({'G': _Call(_Global('torch_utils.persistence', '_reconstruct_persistent_obj'), meta)})
  with pytest.raises(UnsupportedPickleError, match="'function'"):
    _load_bytes(data)


def test_other_persistence_globals_are_refused():
  data = _dumps({'G': _Call(_Global('torch_utils.persistence', 'persistent_class'), 'x')})
  with pytest.raises(UnsafePickleError, match='"torch_utils.persistence.persistent_class"'):
    _load_bytes(data)


def test_tf1_pickle_is_pointed_to_its_importer():
  state = {'name': 'Gs', 'build_func_name': 'G_main', 'static_kwargs': {}, 'variables': []}
  with pytest.raises(UnsupportedPickleError, match='TF1.*load_networks'):
    _load_bytes(_dumps((TFNetwork(state),)))


def test_allowed_globals_cannot_be_patched():
  # GLOBAL collections.OrderedDict, then BUILD with state {'__call__': None}.
  with pytest.raises(UnsafePickleError, match='modify'):
    _load_bytes(b'\x80\x02ccollections\nOrderedDict\n}X\x08\x00\x00\x00__call__Nsb.')


def test_object_arrays_are_refused():
  with pytest.raises(UnsupportedPickleError, match='dtype'):
    _load_bytes(pickle.dumps({'a': np.array([1, None], dtype=object)}))


def test_persistent_ids_outside_storages_are_refused():
  with pytest.raises(UnsupportedPickleError, match='persistent id'):
    _load_bytes(_dumps({'a': _PersistentId('x')}))


def test_tensor_past_end_of_storage_is_refused():
  with pytest.raises(UnsupportedPickleError, match='storage'):
    _load_bytes(_dumps({'x': _tensor(_storage(np.zeros(4)), (2, 2), offset=1)}))


def test_garbage_is_unsupported():
  with pytest.raises(UnsupportedPickleError):
    _load_bytes(b'\x80\x04not a pickle')
  with pytest.raises(UnsupportedPickleError, match='dict'):
    _load_bytes(pickle.dumps([1, 2]))


# 3. Hand-built tensors, networks and kwargs. ---------------------------------------------------------------------

def test_legacy_storage_offsets_and_strides():
  flat = np.arange(30, dtype=np.float32) * 0.5 - 3
  storage = _storage(flat)  # one storage shared by all tensors, as in torch
  cases = {'plain': ((5, 6), (6, 1), 0), 'offset': ((2, 3), (3, 1), 7), 'transposed': ((6, 5), (1, 6), 0),
           'strided': ((2, 2, 3), (12, 1, 4), 5), 'scalar': ((), (), 29), 'empty': ((0, 4), (4, 1), 0)}
  result = _load_bytes(_dumps({k: _tensor(storage, *case) for k, case in cases.items()}))
  for name, (size, stride, offset) in cases.items():
    expected = np.zeros(size, np.float32)
    for index in np.ndindex(*size):
      expected[index] = flat[offset + sum(i * s for i, s in zip(index, stride))]
    got = result[name]
    assert got.dtype == np.float32 and got.shape == size and got.flags.c_contiguous, name
    assert np.array_equal(got, expected), name


@pytest.mark.parametrize('storage_type, dtype', [
    ('DoubleStorage', '<f8'), ('HalfStorage', '<f2'), ('LongStorage', '<i8'), ('IntStorage', '<i4'),
    ('ShortStorage', '<i2'), ('CharStorage', 'i1'), ('ByteStorage', 'u1'), ('BoolStorage', '?')])
def test_storage_dtypes(storage_type, dtype):
  values = np.array([0, 1, 1, 0, 1, 1], dtype=dtype)
  storage = _storage(values, storage_type=storage_type, dtype=dtype)
  got = _load_bytes(_dumps({'x': _tensor(storage, (2, 3))}))['x']
  assert got.dtype == np.dtype(dtype) and np.array_equal(got, values.reshape(2, 3))


def test_bfloat16_storage():
  ml_dtypes = pytest.importorskip('ml_dtypes')
  values = np.array([1.5, -2.0, 0.25], dtype=ml_dtypes.bfloat16)
  storage = _storage(values, storage_type='BFloat16Storage', dtype=ml_dtypes.bfloat16)
  got = _load_bytes(_dumps({'x': _tensor(storage, (3,))}))['x']
  assert got.dtype == ml_dtypes.bfloat16 and got.astype(np.float32).tolist() == [1.5, -2.0, 0.25]


def test_network_state_dict_kwargs_and_attributes():
  def tensor(*values, parameter=False):
    return _tensor(_storage(np.array(values)), (len(values),), parameter=parameter)

  fc = _network('FullyConnectedLayer', params=[('weight', tensor(1, 2, parameter=True)), ('bias', None)],
                buffers=[('cache', tensor(9))], non_persistent=['cache'])
  block = _network('Block', params=[('w', tensor(3, parameter=True))], children=[('fc', fc), ('skip', None)])
  G = _network(
      'Generator', params=[('p', tensor(4, parameter=True))], buffers=[('b', tensor(5))], children=[('block', block)],
      init_kwargs={'z_dim': np.int64(512), 'psi': np.float64(0.5), 'flag': np.bool_(True), 'shape': (2, 3),
                   'mapping_kwargs': EasyDict(num_layers=np.int32(8), lr=np.float32(0.25))},
      z_dim=np.int64(512), w_avg_beta=np.float64(0.995), block_resolutions=[4, 8], _private=1,
      in_size=np.broadcast_to(np.asarray(36), [2]))  # StyleGAN3 layers keep numpy arrays like this
  result = _load_bytes(_dumps({'G_ema': G, 'training_set_kwargs': EasyDict(path='x.zip', xflip=False)}))
  g = result['G_ema']
  assert list(g.state_dict) == ['p', 'b', 'block.w', 'block.fc.weight']  # params, buffers, then children
  assert g.state_dict['block.fc.weight'].tolist() == [1.0, 2.0]
  assert g.module_classes == {'': 'Generator', 'block': 'Block', 'block.fc': 'FullyConnectedLayer'}
  assert g.init_kwargs == {'z_dim': 512, 'psi': 0.5, 'flag': True, 'shape': (2, 3),
                           'mapping_kwargs': {'num_layers': 8, 'lr': 0.25}}
  kwargs = g.init_kwargs
  assert [type(v) for v in (kwargs['z_dim'], kwargs['psi'], kwargs['flag'])] == [int, float, bool]
  assert type(kwargs['mapping_kwargs']) is dict and type(kwargs['mapping_kwargs']['num_layers']) is int
  in_size = g.attributes.pop('in_size')
  assert type(in_size) is np.ndarray and in_size.dtype == np.int64 and in_size.tolist() == [36, 36]
  assert g.attributes == {'z_dim': 512, 'w_avg_beta': 0.995, 'block_resolutions': [4, 8]}
  assert result['training_set_kwargs'] == {'path': 'x.zip', 'xflip': False}
  assert type(result['training_set_kwargs']) is dict


def test_numpy_1_module_names():
  # numpy < 2 writes numpy.core.*; dtypes are REDUCE + BUILD, as numpy pickles them.
  scalar = _Call(_Global('numpy.core.multiarray', 'scalar'), _Call(np.dtype, 'f8', False, True),
                 np.float64(1.5).tobytes())
  assert _load_bytes(_dumps({'s': scalar}))['s'] == 1.5
  array = np.arange(6, dtype='>i4').reshape(2, 3)
  data = pickle.dumps({'a': array}, protocol=2).replace(b'numpy._core', b'numpy.core')
  assert b'numpy.core.multiarray\n_reconstruct' in data
  assert _load_bytes(data)['a'].tolist() == array.tolist()


def _zip_archive(payload, values):
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, 'w') as zf:
    zf.writestr('archive/data.pkl', _dumps(payload, protocol=2))
    zf.writestr('archive/byteorder', 'little')
    zf.writestr('archive/data/0', values.tobytes())
  return buf.getvalue()


def test_zip_format():
  values = np.arange(12, dtype=np.float32)
  pid = _PersistentId(('storage', _Global('torch', 'FloatStorage'), '0', 'cpu', values.size))
  expected = [[1, 4], [2, 5], [3, 6]]
  result = _load_bytes(_zip_archive({'w': _tensor(pid, (3, 2), (1, 3), offset=1), 'step': 7}, values))
  assert result['step'] == 7 and result['w'].tolist() == expected
  embedded = _Call(_Global('torch.storage', '_load_from_bytes'), _zip_archive(pid, values))
  assert _load_bytes(_dumps({'w': _tensor(embedded, (3, 2), (1, 3), offset=1)}))['w'].tolist() == expected


# 4. Bytes written by torch itself (optional). --------------------------------------------------------------------

def test_real_torch_pickles():
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError:
    pytest.skip('torch not installed (optional extra)')
  base = torch.arange(35, dtype=torch.float32).reshape(5, 7) / 7
  tensors = {'t': base, 'view': base[1:, ::2], 'transposed': base.t(), 'half': base[0].half(),
             'long': torch.arange(4), 'p': torch.nn.Parameter(torch.ones(2, 3))}
  expected = {k: v.detach().numpy() for k, v in tensors.items()}
  buffers = [pickle.dumps(tensors), pickle.dumps(tensors, protocol=2)]
  for kwargs in ({}, {'_use_new_zipfile_serialization': False}):
    buffers.append(io.BytesIO())
    torch.save(tensors, buffers[-1], **kwargs)
    buffers[-1] = buffers[-1].getvalue()
  for data in buffers:
    result = _load_bytes(data)
    for k, ref in expected.items():
      assert result[k].dtype == ref.dtype and np.array_equal(result[k], ref), k
