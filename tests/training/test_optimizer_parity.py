"""Lazy-regularization Adam, G EMA and their decays against the official training loop (``train_res32.npz``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from conftest import load_npz
from stylegan2_jax.training import state as train_state


@pytest.fixture(scope='module')
def data():
  return load_npz('train_res32.npz')


def params_of(data: dict, prefix: str, names) -> dict:
  """A flat {tuple path: array} params tree of the given state-dict names under ``prefix``."""
  return traverse_util.unflatten_dict({tuple(n.split('.')): jnp.asarray(data[prefix + n]) for n in names})


def assert_update_matches(params, data: dict, before: str, after: str, lr: float):
  """``|d| <= 4 spacing(max(|p_before|, |ref|)) + 1e-6 lr`` per element."""
  flat = traverse_util.flatten_dict(params)
  for path, value in flat.items():
    name = '.'.join(path)
    ref, prev = data[after + name], data[before + name]
    tol = 4 * np.spacing(np.maximum(np.abs(prev), np.abs(ref))) + 1e-6 * lr
    err = np.abs(np.asarray(value) - ref)
    assert np.all(err <= tol), f'{after}{name}: max|d| {err.max():.3g}'


@pytest.mark.parametrize('net,interval_key', [('G', 'G_reg_interval'), ('D', 'D_reg_interval')])
def test_two_adam_steps_with_lazy_regularization(data, net, interval_key):
  interval = int(data[interval_key])
  ratio = train_state.lazy_regularization_ratio(interval)
  assert ratio == pytest.approx(float(data[f'mb_ratio_{net}']))
  main, reg = ('Gmain', 'Greg') if net == 'G' else ('Dmain', 'Dreg')
  names = [k[len(f'after_{main}.'):] for k in data if k.startswith(f'after_{main}.') and not k.endswith('w_avg')]
  base_lr = 0.0025  # the official G and D learning rate
  optimizer = train_state.lazy_adam(base_lr, interval)
  lr = float(data[f'lr_{net}'])
  assert base_lr * ratio == pytest.approx(lr, rel=1e-6)
  params = params_of(data, f'{net}.', names)
  opt_state = optimizer.init(params)
  params, opt_state = train_state.apply_adam(optimizer, params, opt_state, params_of(data, f'grad_{main}.', names))
  assert_update_matches(params, data, f'{net}.', f'after_{main}.', lr)
  params, opt_state = train_state.apply_adam(optimizer, params, opt_state, params_of(data, f'grad_{reg}.', names))
  assert_update_matches(params, data, f'after_{main}.', f'after_{net}step2.', lr)
  nu = traverse_util.flatten_dict(opt_state.nu)
  for path, value in nu.items():
    ref = data[f'adam_{net}_exp_avg_sq.' + '.'.join(path)]
    np.testing.assert_allclose(np.asarray(value), ref, rtol=1e-6, atol=1e-30)
  assert int(opt_state.count) == int(data[f'adam_{net}_step'])


def test_ema_beta_and_update(data):
  beta = train_state.ema_beta(int(data['batch_size']), float(data['ema_kimg']), None, nimg=0)
  np.testing.assert_allclose(float(beta), float(data['ema_beta']), rtol=1e-7)
  assert float(train_state.ema_beta(8, 10.0, 0.05, nimg=0)) == 0.0  # official ramp-up: first step copies G
  assert float(train_state.ema_beta(8, 10.0, 0.05, nimg=10 ** 9)) == pytest.approx(float(data['ema_beta']))
  names = [k[len('after_ema.'):] for k in data if k.startswith('after_ema.') and not k.endswith('w_avg')]
  G = {'params': params_of(data, 'after_Gmain.', names), 'buffers': {'mapping': {'w_avg': data['gmain_w_avg_after']}}}
  G_ema = {'params': params_of(data, 'G.', names), 'buffers': {'mapping': {'w_avg': data['G.mapping.w_avg']}}}
  out = train_state.ema_update(G_ema, G, beta)
  for path, value in traverse_util.flatten_dict(out['params']).items():
    name = '.'.join(path)
    ref = data['after_ema.' + name]
    tol = 4 * np.spacing(np.maximum(np.abs(data['after_Gmain.' + name]), np.abs(ref)))
    assert np.all(np.abs(np.asarray(value) - ref) <= tol), name
  np.testing.assert_array_equal(out['buffers']['mapping']['w_avg'], data['after_ema.mapping.w_avg'])


def test_sanitize_gradients_as_official():
  g = jnp.array([jnp.nan, jnp.inf, -jnp.inf, 2.0])
  np.testing.assert_array_equal(train_state.sanitize_gradients(g), [0.0, 1e5, -1e5, 2.0])


@pytest.mark.parametrize('disabled', [dict(pl_weight=0.0), dict(r1_gamma=0.0)])
def test_lazy_compensation_follows_the_interval_not_the_weight(disabled):
  """The official loop sets lr * k/(k+1) and betas ** (k/(k+1)) whenever an interval is set, even with a zero weight."""
  from stylegan2_jax.training.build import build_optimizers
  from stylegan2_jax.training.config import training_config
  params = {'w': jnp.zeros([3])}
  grads = {'w': jnp.asarray([1.0, -2.0, 0.5])}

  def one_step(config):
    updates = []
    for opt in build_optimizers(config):
      new_params, _ = train_state.apply_adam(opt, params, opt.init(params), grads)
      updates.append(np.asarray(new_params['w']))
    return updates

  config = training_config(32)
  reference = one_step(config)
  np.testing.assert_allclose(reference[0], -config.G_lr * 0.8 * np.sign(grads['w']), rtol=1e-5)
  np.testing.assert_allclose(reference[1], -config.D_lr * 16 / 17 * np.sign(grads['w']), rtol=1e-5)
  config.update(disabled)
  for got, want in zip(one_step(config), reference):
    np.testing.assert_array_equal(got, want)
  config.update(G_reg_interval=None, D_reg_interval=None)
  for got in one_step(config):
    np.testing.assert_allclose(got, -config.G_lr * np.sign(grads['w']), rtol=1e-5)
