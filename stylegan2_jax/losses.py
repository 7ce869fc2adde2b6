"""The official StyleGAN2 losses (``training/loss.py``) as pure functions of parameters and random draws.

Every random number the official ``StyleGAN2Loss`` draws is an explicit input
here (a ``draws`` dict made by :func:`draw_generator_inputs`), so a test can
replay the official draws and training can make its own inside a jitted step.
Each objective is the scalar the official code calls ``backward()`` on,
including the phase gain (its interval for the lazy regularizers). With ADA, the
official ``run_D`` augments every image before D: here the ``augment`` arguments,
functions ``img -> augmented img`` (their draws made by the caller, like the others).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from stylegan2_jax.networks.discriminator import Discriminator
from stylegan2_jax.networks.generator import Generator


@dataclasses.dataclass(frozen=True)
class LossSettings:
  """The hyperparameters of the official ``StyleGAN2Loss`` and training loop that the steps use.

  No defaults here: they live in the training config (``training.config.training_config``),
  and ``training.build.loss_settings`` makes these from a config.
  """
  batch_size: int                    # global batch (official --batch)
  r1_gamma: float                    # R1 weight, 0 = no Dreg phase
  pl_weight: float                   # path-length weight, 0 = no Greg phase
  pl_decay: float                    # decay of pl_mean
  pl_batch_shrink: int               # Greg runs on batch_size // pl_batch_shrink
  style_mixing_prob: float           # probability of mixing two latents
  G_reg_interval: int | None         # Greg every k steps (None: in the same step as Gmain)
  D_reg_interval: int | None         # Dreg every k steps (None: in the same step as Dmain)
  ema_kimg: float                    # half-life of the G EMA, in thousands of images
  ema_rampup: float | None           # EMA ramp-up, None = off
  mbstd_shards: int = 1              # minibatch-stddev groups stay inside each of these batch slices
  batch_rounds: int = 1              # gradient-accumulation rounds per phase (batch_size // (batch_gpu * devices))
  sequential_terms: bool = True      # each loss term's gradient before the next term's forward pass (less memory)


def draw_generator_inputs(key: jax.Array, G: Generator, batch_size: int, style_mixing_prob: float,
                          rounds: int = 1) -> dict[str, Any]:
  """The random draws of one official ``run_G``: z, style-mixing cutoff and z2, per-layer noise.

  ``cutoff`` is the first ws index taken from z2 (``num_ws`` = no mixing); as
  in the official code it is one value for the whole batch, or with
  ``rounds > 1`` (gradient accumulation) one value per round, shape ``[rounds]``.
  """
  k_z, k_cut, k_rand, k_z2, k_noise = jax.random.split(key, 5)
  num_ws = G.num_ws
  draws = dict(z=jax.random.normal(k_z, (batch_size, G.z_dim), jnp.float32))
  if style_mixing_prob > 0:
    shape = () if rounds == 1 else (rounds,)
    cutoff = jax.random.randint(k_cut, shape, 1, num_ws)
    mix = jax.random.uniform(k_rand, shape) < style_mixing_prob
    draws['cutoff'] = jnp.where(mix, cutoff, num_ws).astype(jnp.int32)
    draws['z2'] = jax.random.normal(k_z2, (batch_size, G.z_dim), jnp.float32)
  layers = G.noise_layers
  keys = jax.random.split(k_noise, max(len(layers), 1))
  draws['noise'] = {name: jax.random.normal(k, (batch_size, 1, res, res), jnp.float32)
                    for k, (name, res) in zip(keys, layers)}
  return draws


def mixed_ws(G: Generator, g_vars: dict, draws: dict, c: jnp.ndarray | None):
  """ws of the official ``run_G`` -> (ws [N, num_ws, w_dim], updated G buffers).

  The first mapping call (on z) updates ``w_avg``; z2 is mapped without the
  update and replaces the ws from ``cutoff`` on.
  """
  ws, new_vars = G.apply(g_vars, draws['z'], c, update_w_avg=True, method='map', mutable=['buffers'])
  if 'z2' in draws:
    ws2 = G.apply(g_vars, draws['z2'], c, method='map')
    layer = jnp.arange(ws.shape[1])[None, :, None]
    ws = jnp.where(layer < draws['cutoff'], ws, ws2)
  return ws, dict(new_vars['buffers'])


def run_generator(G: Generator, g_vars: dict, draws: dict, c: jnp.ndarray | None):
  """Official ``run_G`` in training mode (style mixing, random noise) -> (img NCHW, ws, updated buffers)."""
  ws, buffers = mixed_ws(G, g_vars, draws, c)
  img = G.apply(g_vars, ws, noise_mode='random', noise_inputs=draws['noise'], method='synthesize')
  return img, ws, buffers


def generator_main_loss(g_params, g_buffers, d_params, G: Generator, D: Discriminator, draws: dict,
                        c=None, mbstd_shards: int = 1, gain: float = 1.0, augment=None):
  """Gmain: ``mean(softplus(-D(augment(G(z)))))`` -> (objective, aux with logits, loss and new buffers)."""
  img, _, buffers = run_generator(G, {'params': g_params, 'buffers': g_buffers}, draws, c)
  logits = D.apply({'params': d_params}, img if augment is None else augment(img), c, mbstd_shards)
  loss = jax.nn.softplus(-logits)
  return jnp.mean(loss) * gain, dict(buffers=buffers, gen_logits=logits, loss_Gmain=loss)


def path_length_loss(g_params, g_buffers, pl_mean, G: Generator, draws: dict, pl_noise, c=None,
                     *, pl_weight: float, pl_decay: float, gain: float = 1.0):
  """Greg: path-length penalty ``pl_weight * (|J^T y| - pl_mean)^2`` on the draws' (shrunk) batch.

  ``pl_noise`` is ``randn(img.shape) / sqrt(H * W)``. The updated ``pl_mean``
  takes part in the gradient, as in the official code; the stored state is
  its stopped value (aux ``pl_mean``).
  """
  g_vars = {'params': g_params, 'buffers': g_buffers}
  ws, buffers = mixed_ws(G, g_vars, draws, c)

  def projected(ws):
    img = G.apply(g_vars, ws, noise_mode='random', noise_inputs=draws['noise'], method='synthesize')
    return jnp.sum(img * pl_noise)

  pl_grads = jax.grad(projected)(ws)
  pl_lengths = jnp.sqrt(jnp.mean(jnp.sum(jnp.square(pl_grads), axis=2), axis=1))
  new_pl_mean = pl_mean + pl_decay * (jnp.mean(pl_lengths) - pl_mean)
  penalty = jnp.square(pl_lengths - new_pl_mean)
  loss = penalty * pl_weight
  aux = dict(buffers=buffers, pl_grads=pl_grads, pl_lengths=pl_lengths,
             pl_mean=jax.lax.stop_gradient(new_pl_mean), pl_penalty=penalty, loss_Gpl=loss)
  return jnp.mean(loss) * gain, aux


def draw_pl_noise(key: jax.Array, img_shape) -> jnp.ndarray:
  """The official path-length noise: ``randn(img.shape) / sqrt(H * W)``."""
  return jax.random.normal(key, img_shape, jnp.float32) / jnp.sqrt(float(img_shape[2] * img_shape[3]))


def discriminator_gen_loss(d_params, g_params, g_buffers, G: Generator, D: Discriminator, draws: dict,
                           gen_c=None, mbstd_shards: int = 1, gain: float = 1.0, augment=None):
  """Dmain's half on generated images: ``mean(softplus(D(augment(G(z))))) * gain``; G is held fixed but
  updates w_avg."""
  gen_img, _, buffers = run_generator(G, {'params': g_params, 'buffers': g_buffers}, draws, gen_c)
  gen_img = jax.lax.stop_gradient(gen_img)
  if augment is not None:
    gen_img = augment(gen_img)
  gen_logits = D.apply({'params': d_params}, gen_img, gen_c, mbstd_shards)
  loss_gen = jax.nn.softplus(gen_logits)
  return jnp.mean(loss_gen) * gain, dict(buffers=buffers, gen_logits=gen_logits, loss_Dgen=loss_gen)


def discriminator_real_loss(d_params, D: Discriminator, real_img, real_c=None, mbstd_shards: int = 1,
                            gain: float = 1.0, augment=None):
  """Dmain's half on real images: ``mean(softplus(-D(augment(x)))) * gain``."""
  if augment is not None:
    real_img = augment(real_img)
  real_logits = D.apply({'params': d_params}, real_img, real_c, mbstd_shards)
  loss_real = jax.nn.softplus(-real_logits)
  return jnp.mean(loss_real) * gain, dict(real_logits=real_logits, loss_Dreal=loss_real)


def discriminator_main_loss(d_params, g_params, g_buffers, G: Generator, D: Discriminator, draws: dict,
                            real_img, real_c=None, gen_c=None, mbstd_shards: int = 1, gain: float = 1.0,
                            augment_gen=None, augment_real=None):
  """Dmain: ``mean(softplus(D(G(z)))) + mean(softplus(-D(x)))`` (each image augmented first when given);
  G is held fixed but updates w_avg. The sum of :func:`discriminator_gen_loss` and
  :func:`discriminator_real_loss` (the training step takes their gradients one after the other)."""
  value_gen, aux = discriminator_gen_loss(d_params, g_params, g_buffers, G, D, draws, gen_c, mbstd_shards, gain,
                                          augment_gen)
  value_real, aux_real = discriminator_real_loss(d_params, D, real_img, real_c, mbstd_shards, gain, augment_real)
  return value_gen + value_real, {**aux, **aux_real}


def r1_loss(d_params, D: Discriminator, real_img, real_c=None, *, r1_gamma: float, mbstd_shards: int = 1,
            gain: float = 1.0, augment=None):
  """Dreg: R1 ``r1_gamma / 2 * |d sum(D(augment(x))) / dx|^2`` per real image (through the augmentation)."""
  def logits_sum(img):
    logits = D.apply({'params': d_params}, img if augment is None else augment(img), real_c, mbstd_shards)
    return jnp.sum(logits), logits

  r1_grads, real_logits = jax.grad(logits_sum, has_aux=True)(real_img)
  penalty = jnp.sum(jnp.square(r1_grads), axis=(1, 2, 3))
  loss = penalty * (r1_gamma / 2)
  return jnp.mean(loss) * gain, dict(real_logits=real_logits, r1_grads=r1_grads, r1_penalty=penalty,
                                     loss_Dr1=loss)
