"""Feature extraction over the mesh (real and generated) and the path-length computation, on tiny networks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stylegan2_jax.data.sources import ArraySource
from stylegan2_jax.metrics.features import Detector, generator_features, real_features
from stylegan2_jax.metrics.path_length import path_length_step, prepare_for_lpips
from stylegan2_jax.networks.config import generator_from_kwargs, init_generator
from stylegan2_jax.networks.defaults import generator_config
from stylegan2_jax.sharding import data_mesh

MEAN_RGB = Detector('mean_rgb', lambda v, x: jnp.mean(x.astype(jnp.float32), axis=(1, 2)) * v, jnp.float32(1.0))


def test_real_features_cover_the_dataset_in_order_and_are_cached(tmp_path):
  rng = np.random.RandomState(0)
  images = rng.randint(0, 256, (37, 1, 8, 8)).astype(np.uint8)  # grayscale: repeated to RGB
  source = ArraySource(images, description='random test images')
  stats = real_features(source, MEAN_RGB, data_mesh(), capture_all=True, capture_mean_cov=True, batch_size=8,
                        cache_dir=str(tmp_path), progress=False)
  expected = np.repeat(images.astype(np.float32).mean(axis=(2, 3)), 3, axis=1)
  np.testing.assert_allclose(stats.get_all(), expected, rtol=1e-6)
  assert len(list(tmp_path.glob('real-mean_rgb-37-*.npz'))) == 1
  broken = Detector('mean_rgb', lambda v, x: 1 / 0, None)  # a cache hit never runs the detector
  cached = real_features(source, broken, data_mesh(), capture_all=True, capture_mean_cov=True, cache_dir=str(tmp_path))
  np.testing.assert_array_equal(cached.get_all(), stats.get_all())
  first = real_features(source, MEAN_RGB, data_mesh(), max_items=10, capture_all=True, progress=False)
  np.testing.assert_allclose(first.get_all(), expected[:10], rtol=1e-6)


@pytest.fixture(scope='module')
def tiny_generator():
  cfg = generator_config(16, z_dim=8, w_dim=8, c_dim=3)
  cfg.mapping_kwargs.num_layers = 1
  cfg.synthesis_kwargs.update(channel_base=64, channel_max=8)
  G = generator_from_kwargs(cfg)
  return G, init_generator(G, jax.random.PRNGKey(0))


def test_generated_features_count_labels_and_determinism(tiny_generator):
  G, variables = tiny_generator
  labels = np.array([2, 2, 2])  # every sample conditioned on class 2
  one = generator_features(G, variables, MEAN_RGB, data_mesh(), num_gen=21, labels=labels, capture_all=True,
                           batch_size=8, seed=5, progress=False).get_all()
  again = generator_features(G, variables, MEAN_RGB, data_mesh(), num_gen=21, labels=labels, capture_all=True,
                             batch_size=8, seed=5, progress=False).get_all()
  assert one.shape == (21, 3)
  np.testing.assert_array_equal(one, again)
  # The same samples by hand: z from the seed's stream, class 2, then uint8 conversion as saved images.
  z = np.random.RandomState(5).randn(8, 8).astype(np.float32)
  c = np.zeros((8, 3), np.float32)
  c[:, 2] = 1
  ws = G.apply(variables, z, c, method=G.map)
  clean = generator_features(G, variables, MEAN_RGB, data_mesh(), num_gen=8, labels=labels, capture_all=True,
                             batch_size=8, seed=5, progress=False).get_all()
  img = np.asarray(G.apply(variables, ws, 'const', method=G.synthesize))
  u8 = np.clip(img.transpose(0, 2, 3, 1) * 127.5 + 128, 0, 255).astype(np.uint8).mean(axis=(1, 2))
  assert np.abs(clean - u8).max() < 3  # the same images up to the random noise inputs
  assert not np.allclose(one[:8], one[8:16])


def test_path_length_of_a_linear_generator_is_known():
  rng = np.random.RandomState(1)
  A = jnp.asarray(rng.randn(3 * 4 * 4, 6).astype(np.float32))
  map_fn = lambda z, c: jnp.repeat(z[:, None, :] * 2.0, 2, axis=1)  # noqa: E731  (w = 2z, two ws)
  synth_fn = lambda ws, noise: (ws[:, 0] @ A.T).reshape(-1, 3, 4, 4)  # noqa: E731
  distance_fn = lambda a, b: jnp.sum((a - b) ** 2, axis=(1, 2, 3))  # noqa: E731
  z = jnp.asarray(rng.randn(5, 2, 6).astype(np.float32))
  c = jnp.zeros((5, 0))
  t = jnp.zeros(5)
  eps = 1e-2
  dist = np.asarray(path_length_step(map_fn, synth_fn, distance_fn, z, c, t, None, eps, space='w'))
  expected = np.sum((np.asarray(2.0 * (z[:, 1] - z[:, 0])) @ np.asarray(A).T) ** 2, axis=1)
  np.testing.assert_allclose(dist, expected, rtol=2e-3)


def test_ppl_view_crops_downsamples_and_makes_rgb():
  img = jnp.arange(2 * 1 * 512 * 512, dtype=jnp.float32).reshape(2, 1, 512, 512)
  out = prepare_for_lpips(img, crop=False)
  assert out.shape == (2, 3, 256, 256)
  np.testing.assert_allclose(out[0, 0, 0, 0], img[0, 0, :2, :2].mean())
  cropped = prepare_for_lpips(img, crop=True)  # rows 3/8..7/8, columns 2/8..6/8 -> 256x256, no downsampling
  assert cropped.shape == (2, 3, 256, 256)
  np.testing.assert_allclose(cropped[0, 0], img[0, 0, 192:448, 128:384])
