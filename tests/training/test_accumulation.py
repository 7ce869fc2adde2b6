"""Gradient accumulation (official ``batch_gpu``): rounds inside the jitted step, gradients summed over rounds."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from stylegan2_jax import losses
from stylegan2_jax.training import augmentation, state as train_state
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated
from stylegan2_jax.training.build import default_loss_settings
from stylegan2_jax.training.config import accumulation_rounds, validate_config
from stylegan2_jax.training.steps import TrainSteps, phase_key, split_rounds
from train_helpers import tiny_config

BATCH = 16
C_DIM = 3
# Minibatch stddev off: every sample's loss depends on that sample alone, so the official sum over
# rounds of each round's mean is exactly rounds x the mean over the whole batch.
G_KWARGS = dict(z_dim=8, c_dim=C_DIM, w_dim=8, img_resolution=8, img_channels=3, mapping_kwargs=dict(num_layers=2),
                synthesis_kwargs=dict(channel_base=64, channel_max=8))
D_KWARGS = dict(c_dim=C_DIM, img_resolution=8, img_channels=3, channel_base=64, channel_max=8,
                epilogue_kwargs=dict(mbstd_num_channels=0))


def recording_optimizer() -> optax.GradientTransformation:
  """Leaves the parameters alone and keeps the last (sanitized) gradients as its state."""
  return optax.GradientTransformation(lambda params: jax.tree.map(jnp.zeros_like, params),
                                      lambda grads, state, params=None: (jax.tree.map(jnp.zeros_like, grads), grads))


def make_steps(rounds: int, G=None, D=None, augment=None, batch: int = BATCH, **settings):
  """Phase steps with the recording optimizer, their initial state, and ``batch`` random reals and labels.

  ``G`` and ``D`` default to this file's networks; ``augment`` is a ``TrainingAugment`` or None; ``settings``
  override the loss settings.
  """
  G = generator_from_kwargs(G_KWARGS) if G is None else G
  D = discriminator_from_kwargs(D_KWARGS) if D is None else D
  opt = recording_optimizer()
  settings = default_loss_settings(batch, r1_gamma=1.0, batch_rounds=rounds, **settings)
  mesh = data_mesh()
  steps = TrainSteps(G, D, opt, opt, settings, mesh, augment)
  fields = augmentation.state_fields(augment)
  state = jax.jit(lambda k: train_state.create_train_state(G, D, opt, opt, k, augment_fields=fields),
                  out_shardings=replicated(mesh))(jax.random.PRNGKey(7))
  rs = np.random.RandomState(0)
  res = G.img_resolution
  real = jax.device_put(rs.randint(0, 256, (batch, 3, res, res)).astype(np.uint8), batch_sharding(mesh))
  labels = jax.device_put(np.eye(G.c_dim, dtype=np.float32)[rs.randint(0, G.c_dim, batch)], batch_sharding(mesh))
  return steps, state, real, labels


def recorded_phase(steps, state, phase: str, real, labels):
  """Runs one phase -> (the gradients it applied, by path; new state; metrics)."""
  state, metrics = steps.run_phase(phase, state, real, labels)
  opt_state = state.G_opt if phase.startswith('G') else state.D_opt
  flat = jax.tree_util.tree_flatten_with_path(jax.device_get(opt_state))[0]
  return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in flat}, state, metrics


def phase_gradients(rounds: int, phase: str, **settings):
  steps, state, real, labels = make_steps(rounds, **settings)
  return recorded_phase(steps, state, phase, real, labels)


def test_split_rounds_takes_each_device_slice_in_turn():
  x = np.arange(16)
  rounds = np.asarray(split_rounds(jnp.asarray(x), rounds=2, shards=4))
  # 4 slices (devices) of 4 images; each device's first 2 images form round 0, as each official GPU splits its batch.
  np.testing.assert_array_equal(rounds, [[0, 1, 4, 5, 8, 9, 12, 13], [2, 3, 6, 7, 10, 11, 14, 15]])
  np.testing.assert_array_equal(np.asarray(split_rounds(jnp.asarray(x), rounds=1, shards=4))[0], x)


@pytest.mark.parametrize('phase', ['Gmain', 'Greg', 'Dmain', 'Dreg'])
def test_accumulated_gradients_sum_the_rounds(phase):
  # No style mixing (its cutoff is drawn per round) and pl_decay 0 (pl_mean, updated per round, stays 0): the
  # 4-round and 1-round steps see the same draws, and each round's mean adds up to 4x the whole batch's mean.
  settings = dict(style_mixing_prob=0.0, pl_decay=0.0)
  one, _, _ = phase_gradients(1, phase, **settings)
  four, _, _ = phase_gradients(4, phase, **settings)
  assert one.keys() == four.keys()
  assert sum(np.abs(grad).max() > 0 for grad in one.values()) > len(one) // 2  # not vacuous
  for name, grad in one.items():
    np.testing.assert_allclose(four[name], 4 * grad, rtol=1e-4, atol=1e-6 * np.abs(grad).max(), err_msg=name)


def test_rounds_carry_w_avg_and_pl_mean_from_round_to_round():
  settings = dict(style_mixing_prob=0.0, pl_decay=0.5, G_reg_interval=4)
  steps, state, real, labels = make_steps(4, **settings)
  G = steps.G
  start, key = jax.device_get(state), phase_key(state, 'Greg')
  grads, after, metrics = recorded_phase(steps, state, 'Greg', real, labels)  # state is donated here

  # The same computation written as the official loop's rounds: one accumulate_gradients call per quarter.
  reg_batch = BATCH // 2
  draws = steps.draw(key, reg_batch)
  pl_noise = losses.draw_pl_noise(jax.random.fold_in(key, 1), (reg_batch, 3, 8, 8))
  params, buffers, pl_mean = start.G['params'], start.G['buffers'], start.pl_mean
  expected, lengths = jax.tree.map(jnp.zeros_like, params), []
  size = reg_batch // 4
  for r in range(4):
    part = slice(r * size, (r + 1) * size)
    round_draws = dict(z=draws['z'][part], noise={k: v[part] for k, v in draws['noise'].items()})
    grad, aux = jax.grad(losses.path_length_loss, has_aux=True)(
        params, buffers, pl_mean, G, round_draws, pl_noise[part], labels[part], pl_weight=2.0, pl_decay=0.5,
        gain=4.0)
    expected = jax.tree.map(jnp.add, expected, grad)
    buffers, pl_mean = aux['buffers'], aux['pl_mean']
    lengths.append(aux['pl_lengths'])

  np.testing.assert_allclose(after.pl_mean, pl_mean, rtol=1e-5)
  np.testing.assert_allclose(metrics['pl_mean'], pl_mean, rtol=1e-5)
  np.testing.assert_allclose(after.G['buffers']['mapping']['w_avg'], buffers['mapping']['w_avg'], rtol=1e-5, atol=1e-7)
  one_update = 0.5 * float(np.mean(np.concatenate(lengths)))  # what a single update from the whole batch gives
  assert abs(float(after.pl_mean) - one_update) > 0.05 * one_update
  for path, value in jax.tree_util.tree_flatten_with_path(expected)[0]:
    name = jax.tree_util.keystr(path)
    np.testing.assert_allclose(grads[name], value, rtol=1e-4, atol=1e-6 * np.abs(value).max(), err_msg=name)


def test_batch_gpu_sets_the_rounds_and_is_checked():
  assert accumulation_rounds(tiny_config(batch_size=32, batch_gpu=2), num_devices=4) == 4
  assert accumulation_rounds(tiny_config(batch_size=32, batch_gpu=0), num_devices=4) == 1
  validate_config(tiny_config(batch_size=32, batch_gpu=4), num_devices=2)
  with pytest.raises(ValueError, match='batch_gpu=3 must divide the 16 images each of the 2 devices'):
    validate_config(tiny_config(batch_size=32, batch_gpu=3), num_devices=2)
  with pytest.raises(ValueError, match='6 images per round, not divisible by the minibatch-stddev group 4'):
    validate_config(tiny_config(batch_size=24, batch_gpu=6), num_devices=2)
