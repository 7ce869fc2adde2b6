"""FID Inception-v3 against pytorch-fid 0.3.0 (``inception_fid.npz``; tolerances from README_metrics.md).

The network is compiled once for the 299 px reference input (all outputs and stage
traces) and once for pool3 (:func:`inception_features`, shared by the 64 px and
512 px paths); the uint8 entry of the module itself is run on the 64 px images.
A ``torch.save`` file of the weights is written here without torch (zip format, a
state_dict with ``_metadata``, as torch pickles it) to check the ``.pth`` loader.
"""

from __future__ import annotations

import collections
import io
import zipfile

import jax
import numpy as np
import pytest
from conftest import fixture_path
from flax import traverse_util
from torch_pickles import Call, Global, PersistentId, dumps

from stylegan2_jax.metrics.inception import (FID_WEIGHTS_URL, OUTPUTS, STAGES, InceptionV3, fid_preprocess,
                                             inception_features, inception_variables_from_state_dict,
                                             load_inception)


@pytest.fixture(scope='module')
def reference():
  with np.load(fixture_path('inception_fid.npz')) as data:
    return {k: data[k] for k in data.files}


@pytest.fixture(scope='module')
def state_dict(reference):
  return {k: v for k, v in reference.items() if '.' in k}


@pytest.fixture(scope='module')
def variables(state_dict):
  return inception_variables_from_state_dict(state_dict)


@pytest.fixture(scope='module')
def from_net_in(reference, variables):
  """All outputs (NCHW, as the fixture) and the per-stage outputs for the reference ``net_in``."""
  run = jax.jit(lambda v, x: InceptionV3().apply(v, x, outputs=OUTPUTS, preprocess=False, mutable=['intermediates']))
  out, state = run(variables, reference['net_in'].transpose(0, 2, 3, 1))
  out = {k: np.asarray(v).transpose(0, 3, 1, 2) if v.ndim == 4 else np.asarray(v) for k, v in out.items()}
  stages = {name: np.asarray(state['intermediates'][f'{name}_out'][0]) for name in STAGES}
  return out, stages


def _max_diff(a, b):
  return float(np.max(np.abs(np.asarray(a, np.float64) - b)))


def test_input_transform_at_299(reference):
  net_in = np.asarray(jax.jit(fid_preprocess)(reference['u8_299'])).transpose(0, 3, 1, 2)
  np.testing.assert_allclose(net_in, reference['net_in'], rtol=0, atol=2e-5)


def test_pool3_and_logits(reference, from_net_in):
  out, _ = from_net_in
  assert out['pool3'].shape == (2, 2048) and out['logits'].shape == (2, 1008)
  for key in ('pool3', 'logits'):
    np.testing.assert_allclose(out[key], reference[key], rtol=0, atol=1e-3, err_msg=key)


def test_block_taps(reference, from_net_in):
  out, _ = from_net_in
  for key, atol in (('block0', 1e-4), ('block1', 1e-4), ('block2', 2e-3)):
    np.testing.assert_allclose(out[key][:1], reference[f'{key}_s0'], rtol=0, atol=atol, err_msg=key)


def test_stage_traces(reference, from_net_in):
  # Per-channel spatial means of every top-level stage: the first failing stage is where a mistake is.
  _, stages = from_net_in
  for name in STAGES:
    trace = stages[name].astype(np.float64).mean(axis=(1, 2))
    np.testing.assert_allclose(trace, reference[f'trace_{name}'], rtol=0, atol=1e-3, err_msg=name)


@pytest.mark.parametrize('size', [64, 512])
def test_wrapped_uint8_paths(reference, variables, size):
  images = reference[f'u8_{size}']
  net_in = np.asarray(jax.jit(fid_preprocess)(images[:1])).transpose(0, 3, 1, 2)
  np.testing.assert_allclose(net_in, reference[f'wrap{size}_net_in_s0'], rtol=0, atol=2e-5)
  # Three images in batches of 2: the last batch is padded, and the network compiles once for both sizes.
  features = inception_features(variables, images[[0, 1, 0]], batch_size=2)
  assert features.shape == (3, 2048) and features.dtype == np.float32
  np.testing.assert_allclose(features, reference[f'wrap{size}_pool3'][[0, 1, 0]], rtol=0, atol=1e-3)


def test_module_entry_from_uint8(reference, variables):
  pool3 = jax.jit(lambda v, x: InceptionV3().apply(v, x))(variables, reference['u8_64'])
  np.testing.assert_allclose(pool3, reference['wrap64_pool3'], rtol=0, atol=1e-3)


def test_state_dict_key_coverage(state_dict, variables):
  flat = traverse_util.flatten_dict(variables)
  weights = [k for k in state_dict if not k.endswith('.num_batches_tracked')]
  assert len(state_dict) == 566 and len(weights) == 472 and len(flat) == len(weights)
  assert set(variables) == {'params', 'batch_stats'}
  # Every entry lands where it should, in the Flax layout.
  block = variables['params']['Mixed_7c']['branch3x3_2a']
  np.testing.assert_array_equal(block['conv']['kernel'], state_dict['Mixed_7c.branch3x3_2a.conv.weight']
                                .astype(np.float32).transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(block['bn']['scale'], state_dict['Mixed_7c.branch3x3_2a.bn.weight'])
  np.testing.assert_array_equal(variables['batch_stats']['Mixed_7c']['branch3x3_2a']['bn']['var'],
                                state_dict['Mixed_7c.branch3x3_2a.bn.running_var'])
  np.testing.assert_array_equal(variables['params']['fc']['kernel'], state_dict['fc.weight'].astype(np.float32).T)
  assert all(v.dtype == np.float32 for v in flat.values())
  # num_batches_tracked is optional; a missing, unexpected or misshapen entry is named.
  without = {k: v for k, v in state_dict.items() if k in weights}
  assert jax.tree.all(jax.tree.map(np.array_equal, inception_variables_from_state_dict(without), variables))
  dropped = 'Mixed_6e.branch_pool.bn.running_mean'
  with pytest.raises(KeyError, match=dropped.replace('.', r'\.')):
    inception_variables_from_state_dict({k: v for k, v in without.items() if k != dropped})
  with pytest.raises(ValueError, match=r'AuxLogits\.fc\.weight'):
    inception_variables_from_state_dict({**without, 'AuxLogits.fc.weight': np.zeros((1008, 768), np.float32)})
  with pytest.raises(ValueError, match=r'fc\.bias'):
    inception_variables_from_state_dict({**without, 'fc.bias': np.zeros(1000, np.float32)})


def test_missing_weights_file(tmp_path):
  path = tmp_path / 'pt_inception-2015-12-05-6726825d.pth'
  with pytest.raises(FileNotFoundError) as info:
    load_inception(path)
  message = str(info.value)
  assert str(path) in message and FID_WEIGHTS_URL in message and '--inception' in message


# A torch.save file written without torch. ------------------------------------------------------------------------

def _torch_save_zip(state_dict: dict) -> bytes:
  """``torch.save(state_dict)`` in the zip format, with one storage per tensor."""
  storage_types = {'float16': 'HalfStorage', 'float32': 'FloatStorage', 'int64': 'LongStorage'}
  sd, files = collections.OrderedDict(), {}
  sd._metadata = collections.OrderedDict([('', {'version': 1})])  # pylint: disable=protected-access
  for i, (name, value) in enumerate(state_dict.items()):
    value = np.ascontiguousarray(value)
    pid = PersistentId(('storage', Global('torch', storage_types[value.dtype.name]), str(i), 'cpu', value.size))
    stride = tuple(s // value.itemsize for s in value.strides)
    sd[name] = Call(Global('torch._utils', '_rebuild_tensor_v2'), pid, 0, value.shape, stride, False,
                    collections.OrderedDict())
    files[f'archive/data/{i}'] = value.tobytes()
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, 'w') as zf:
    zf.writestr('archive/data.pkl', dumps(sd, protocol=2))
    zf.writestr('archive/byteorder', 'little')
    zf.writestr('archive/version', '3\n')
    for name, raw in files.items():
      zf.writestr(name, raw)
  return buf.getvalue()


@pytest.mark.parametrize('suffix', ['.npz', '.pth'])
def test_load_weights_file(tmp_path, state_dict, variables, suffix):
  path = tmp_path / f'weights{suffix}'
  if suffix == '.npz':
    np.savez(path, **state_dict)
  else:
    path.write_bytes(_torch_save_zip(state_dict))
  loaded = load_inception(path)
  assert jax.tree.structure(loaded) == jax.tree.structure(variables)
  assert jax.tree.all(jax.tree.map(np.array_equal, loaded, variables))
