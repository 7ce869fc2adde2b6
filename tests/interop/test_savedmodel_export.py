"""The TensorFlow SavedModel export (jax2tf): its serving signature matches G.apply within 1e-4."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import fixture_path
from interop_helpers import TINY_G, random_network
from stylegan2_jax import cli
from stylegan2_jax.loading import load_generator

tf = pytest.importorskip('tensorflow', reason="the tf extra is not installed (.venv/bin/pip install -e '.[tf]')")
from stylegan2_jax.interop.savedmodel_export import export_savedmodel  # noqa: E402  (needs the extra)


def _reference(net, z, c, psi, cutoff=None):
  ws = net.module.apply(net.variables, jnp.asarray(z), c, truncation_psi=psi, truncation_cutoff=cutoff, method='map')
  return np.asarray(net.module.apply(net.variables, ws, noise_mode='const', method='synthesize'))


def test_savedmodel_serving_signature_matches_jax(tmp_path):
  out = tmp_path / 'savedmodel'
  assert cli.main(['export', '--network', str(fixture_path('network-snapshot-res32-nosrc.pkl')),
                   '--format', 'savedmodel', '--out', str(out)]) == 0
  serve = tf.saved_model.load(str(out)).signatures['serving_default']
  net = load_generator(fixture_path('network-snapshot-res32-nosrc.pkl'))
  for batch in (1, 3):  # dynamic batch size
    z = np.random.RandomState(batch).randn(batch, 64).astype(np.float32)
    img = serve(z=tf.constant(z), psi=tf.constant(0.7))['img'].numpy()
    np.testing.assert_allclose(img, _reference(net, z, None, 0.7), atol=1e-4, rtol=0)


def test_conditional_savedmodel_with_cutoff(tmp_path):
  net = random_network({**TINY_G, 'c_dim': 3}, seed=2)
  export_savedmodel(net, tmp_path / 'sm', truncation_cutoff=2)
  serve = tf.saved_model.load(str(tmp_path / 'sm')).signatures['serving_default']
  z = np.random.RandomState(0).randn(2, 16).astype(np.float32)
  c = np.eye(3, dtype=np.float32)[[0, 2]]
  img = serve(z=tf.constant(z), c=tf.constant(c), psi=tf.constant(0.5))['img'].numpy()
  np.testing.assert_allclose(img, _reference(net, z, jnp.asarray(c), 0.5, cutoff=2), atol=1e-4, rtol=0)

