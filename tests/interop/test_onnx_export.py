"""The ONNX export: onnxruntime matches G.apply within 1e-4 for every architecture, batch size and option."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import fixture_path
from interop_helpers import TINY_G, random_network
from stylegan2_jax import cli
from stylegan2_jax.export import export_networks
from stylegan2_jax.loading import load_generator

ort = pytest.importorskip('onnxruntime', reason="the onnx extra is not installed (.venv/bin/pip install -e '.[onnx]')")
from stylegan2_jax.interop.onnx_export import build_onnx_model  # noqa: E402  (needs the extra)

SNAPSHOT = 'network-snapshot-res32-nosrc.pkl'


def _session(net, model, **kwargs):
  proto = build_onnx_model(net, model, **kwargs)
  return ort.InferenceSession(proto.SerializeToString(), providers=['CPUExecutionProvider'])


def _reference(net, z, c, psi, cutoff=None, noise_mode='const'):
  ws = net.module.apply(net.variables, jnp.asarray(z), None if c is None else jnp.asarray(c), truncation_psi=psi,
                        truncation_cutoff=cutoff, method='map')
  return np.asarray(ws), np.asarray(net.module.apply(net.variables, ws, noise_mode=noise_mode, method='synthesize'))


@pytest.fixture(scope='module')
def official():
  return load_generator(fixture_path(SNAPSHOT))


@pytest.mark.parametrize('batch', [1, 3])
def test_official_generator_matches_jax(official, batch):
  z = np.random.RandomState(batch).randn(batch, 64).astype(np.float32)
  ws, img = _reference(official, z, None, 0.7)
  psi = np.array([0.7], np.float32)
  out = _session(official, 'generator').run(None, {'z': z, 'psi': psi})[0]
  assert out.shape == img.shape and np.abs(out - img).max() < 1e-4
  np.testing.assert_allclose(_session(official, 'mapping').run(None, {'z': z, 'psi': psi})[0], ws, atol=1e-5)
  np.testing.assert_allclose(_session(official, 'synthesis').run(None, {'ws': ws})[0], img, atol=1e-4, rtol=0)


@pytest.mark.parametrize('kwargs, options', [
    (dict(synthesis_kwargs=dict(channel_base=256, channel_max=32, architecture='orig')), {}),
    (dict(synthesis_kwargs=dict(channel_base=256, channel_max=32, architecture='resnet', conv_clamp=0.5)), {}),
    (dict(c_dim=4), dict(noise_mode='none', truncation_cutoff=2)),
    (dict(mapping_kwargs=dict(num_layers=3, layer_features=24)), dict(truncation_cutoff=5)),
])
def test_architectures_and_options_match_jax(kwargs, options):
  net = random_network({**TINY_G, **kwargs}, seed=3)
  rng = np.random.RandomState(0)
  z = rng.randn(2, 16).astype(np.float32)
  c = np.eye(4, dtype=np.float32)[[1, 3]] if net.module.c_dim else None
  ws, img = _reference(net, z, c, 0.5, options.get('truncation_cutoff'), options.get('noise_mode', 'const'))
  feeds = {'z': z, 'psi': np.array([0.5], np.float32), **({'c': c} if c is not None else {})}
  out = _session(net, 'generator', **options).run(None, feeds)[0]
  np.testing.assert_allclose(out, img, atol=1e-4, rtol=0)
  np.testing.assert_allclose(_session(net, 'mapping', **options).run(None, feeds)[0], ws, atol=1e-5, rtol=0)


def test_export_command_writes_the_models(tmp_path):
  out = tmp_path / 'onnx'
  assert cli.main(['export', '--network', str(fixture_path(SNAPSHOT)), '--format', 'onnx', '--out', str(out)]) == 0
  info = json.loads((out / 'onnx.json').read_text())
  assert (info['num_ws'], info['w_dim'], info['img_resolution']) == (8, 64, 32)
  for model in ('generator', 'mapping', 'synthesis'):
    session = ort.InferenceSession(str(out / f'{model}.onnx'), providers=['CPUExecutionProvider'])
    assert [i.name for i in session.get_inputs()] == info['inputs'][model]
    assert session.get_inputs()[0].shape[0] == 'batch'  # dynamic batch size
  assert export_networks(fixture_path(SNAPSHOT), 'onnx', tmp_path / 'g.onnx') == [tmp_path / 'g.onnx']


def test_bad_options_are_refused(official):
  with pytest.raises(ValueError, match="'const' or 'none'"):
    build_onnx_model(official, noise_mode='random')
  with pytest.raises(ValueError, match='model must be one of'):
    build_onnx_model(official, model='discriminator')
