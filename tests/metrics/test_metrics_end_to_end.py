"""Each metric end to end on a tiny generator and dataset, with random-weight feature networks."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from stylegan2_jax.data.sources import ArraySource
from stylegan2_jax.metrics.inception import init_inception
from stylegan2_jax.metrics.lpips import LPIPS
from stylegan2_jax.metrics.metrics import METRICS, MetricContext, compute_metric, parse_metrics
from stylegan2_jax.metrics.vgg16 import init_vgg16_embedding
from stylegan2_jax.networks.config import generator_from_kwargs, init_generator
from stylegan2_jax.networks.defaults import generator_config
from stylegan2_jax.sharding import data_mesh


@pytest.fixture(scope='module')
def context(tmp_path_factory):
  cfg = generator_config(16, z_dim=8, w_dim=8, c_dim=2)
  cfg.mapping_kwargs.num_layers = 1
  cfg.synthesis_kwargs.update(channel_base=64, channel_max=8)
  G = generator_from_kwargs(cfg)
  rng = np.random.RandomState(0)
  source = ArraySource(rng.randint(0, 256, (12, 3, 16, 16)).astype(np.uint8), rng.randint(0, 2, 12),
                       description='tiny random images')
  ctx = MetricContext(G, init_generator(G, jax.random.PRNGKey(0)), source, data_mesh(), num_gen=12, batch_size=8,
                      cache_dir=str(tmp_path_factory.mktemp('cache')), progress=False)
  lpips_vars = LPIPS().init(jax.random.PRNGKey(2), np.zeros((1, 3, 16, 16), np.float32), np.zeros((1, 3, 16, 16),
                                                                                                   np.float32))
  ctx._cache.update(inception=(init_inception(jax.random.PRNGKey(1)), 'random'), lpips=(lpips_vars, 'random'),
                    vgg16=(init_vgg16_embedding(jax.random.PRNGKey(3)), 'random'))
  return ctx


LEGACY_PPL = ('ppl_zfull', 'ppl_wfull', 'ppl_zend', 'ppl_wend')  # face crop: need 32 px and more


@pytest.mark.parametrize('name', sorted(set(METRICS) - set(LEGACY_PPL)))
def test_metric_runs_and_reports(context, name):
  record = compute_metric(name, context)
  assert record['metric'] == name and record['num_gen'] == 12
  values = list(record['results'].values())
  assert values and all(np.isfinite(v) for v in values)
  if name == 'is50k':
    assert record['results']['is50k_mean'] >= 1.0
  if name == 'pr50k3_full':
    assert all(0 <= v <= 1 for v in values)
  if name == 'ppl2_wend':
    assert record['results']['ppl2_wend'] > 0


def test_missing_weights_and_unknown_metrics_are_named(context):
  bare = MetricContext(context.G, context.G_variables, context.source, context.mesh, num_gen=4, progress=False)
  with pytest.raises(FileNotFoundError, match='--inception'):
    compute_metric('fid50k_full', bare)
  with pytest.raises(FileNotFoundError, match='--lpips'):
    compute_metric('ppl2_wend', bare)
  with pytest.raises(FileNotFoundError, match=r'vgg16-397923af\.pth.*--vgg16'):
    compute_metric('pr50k3_full', bare)
  with pytest.raises(ValueError, match='unknown metric.*fid50k_full'):
    parse_metrics('fid50k_full,fid10k')


@pytest.mark.parametrize('name', LEGACY_PPL)
def test_face_crop_path_lengths(context, name):
  with pytest.raises(ValueError, match='at least 16x16.*16px images give 8px after the face crop'):
    compute_metric(name, context)
  cfg = generator_config(32, z_dim=8, w_dim=8)
  cfg.mapping_kwargs.num_layers = 1
  cfg.synthesis_kwargs.update(channel_base=64, channel_max=8)
  G = generator_from_kwargs(cfg)
  ctx = MetricContext(G, init_generator(G, jax.random.PRNGKey(0)), context.source, context.mesh, num_gen=8,
                      batch_size=8, progress=False)
  ctx._cache['lpips'] = context._cache['lpips']
  value = compute_metric(name, ctx)['results'][name]
  assert np.isfinite(value) and value > 0
