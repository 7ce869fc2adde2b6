"""LPIPS-VGG against the lpips 0.1.4 reference (``lpips_vgg.npz``; tolerances from its README)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import fixture_path
from stylegan2_jax.metrics.lpips import (LPIPS, LPIPS_SCALE, LPIPS_SHIFT, load_lpips, lpips_variables_from_state_dict,
                                         normalize_channels)
from stylegan2_jax.metrics.vgg16 import TAPS, VGG16Features


@pytest.fixture(scope='module')
def reference():
  with np.load(fixture_path('lpips_vgg.npz')) as data:
    return {k: (data[k].astype(np.float32) if data[k].dtype.kind == 'f' else data[k]) for k in data.files}


@pytest.fixture(scope='module')
def variables(reference):
  return lpips_variables_from_state_dict({k: v for k, v in reference.items() if '.' in k})


def test_distances_and_layer_terms(reference, variables):
  dist, layers = jax.jit(lambda v, a, b: LPIPS().apply(v, a, b, per_layer=True))(
      variables, reference['in0'], reference['in1'])
  np.testing.assert_allclose(dist, reference['dist'], rtol=0, atol=1e-6)
  np.testing.assert_allclose(layers, reference['dist_per_layer'], rtol=0, atol=1e-6)


def test_normalized_taps(reference, variables):
  np.testing.assert_allclose(np.asarray(LPIPS_SHIFT, np.float32), reference['scaling_layer.shift'].reshape(-1))
  np.testing.assert_allclose(np.asarray(LPIPS_SCALE, np.float32), reference['scaling_layer.scale'].reshape(-1))
  shift = reference['scaling_layer.shift'].reshape(1, 3, 1, 1)
  scale = reference['scaling_layer.scale'].reshape(1, 3, 1, 1)
  np.testing.assert_allclose((reference['in0'][:1] - shift) / scale, reference['scaled_in0_s0'], atol=1e-6)
  names = ('relu1_2', 'relu2_2', 'relu3_3', 'relu4_3', 'relu5_3')
  for which in ('in0', 'in1'):
    x = ((reference[which][:1] - shift) / scale).transpose(0, 2, 3, 1)
    taps = VGG16Features().apply({'params': variables['params']['vgg']}, x)
    assert len(taps) == len(TAPS)
    for name, tap in zip(names, taps):
      np.testing.assert_allclose(np.asarray(normalize_channels(tap)).transpose(0, 3, 1, 2),
                                 reference[f'nfeat_{which}_{name}_s0'], rtol=0, atol=1e-5, err_msg=name)


def test_input_gradient(reference, variables):
  grad = jax.jit(jax.grad(lambda a, b: jnp.sum(LPIPS().apply(variables, a, b))))(reference['in0'], reference['in1'])
  np.testing.assert_allclose(grad, reference['grad_in0'], rtol=0, atol=1e-8)


def test_load_from_npz_and_missing_file(tmp_path, reference):
  path = tmp_path / 'lpips_vgg.npz'
  np.savez(path, **{k: v for k, v in reference.items() if '.' in k})
  loaded = load_lpips(path)
  assert jax.tree.structure(loaded) == jax.tree.structure(lpips_variables_from_state_dict(
      {k: v for k, v in reference.items() if '.' in k}))
  with pytest.raises(FileNotFoundError, match='--lpips'):
    load_lpips(tmp_path / 'nowhere.npz')
  np.savez(tmp_path / 'partial.npz', **{'lin0.model.1.weight': reference['lin0.model.1.weight']})
  with pytest.raises(KeyError, match='net.slice1.0.weight'):
    load_lpips(tmp_path / 'partial.npz')


def test_heads_file_plus_torchvision_vgg16(reference, tmp_path):
  """The lpips heads file (lin* only) with the trunk from torchvision's names equals the full state_dict."""
  weights = {k: v for k, v in reference.items() if '.' in k}
  np.savez(tmp_path / 'heads.npz', **{k: v for k, v in weights.items() if k.startswith('lin')})
  np.savez(tmp_path / 'vgg16.npz', **{f'features.{k.split(".", 2)[2]}': v for k, v in weights.items()
                                      if k.startswith('net.slice')})
  combined = load_lpips(tmp_path / 'heads.npz', tmp_path / 'vgg16.npz')
  jax.tree.map(np.testing.assert_array_equal, combined, lpips_variables_from_state_dict(weights))
  with pytest.raises(KeyError, match='--vgg16'):
    load_lpips(tmp_path / 'heads.npz')
