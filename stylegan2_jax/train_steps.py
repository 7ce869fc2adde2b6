"""The four official training phases (Gmain, Greg, Dmain, Dreg) as jit-compiled steps over a device mesh.

Each step takes the replicated :class:`TrainState` (donated) and returns the
new state and a dict of scalar metrics. Latents, mixing cutoffs and noise are
drawn inside the step from ``state.rng`` folded with the step number and the
phase, and constrained to the batch sharding so each device draws only its
slice. Real images arrive as a global uint8 NCHW array sharded over ``data``.
The train loop (``train.py``) decides which phases run at which step.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from stylegan2_jax import losses
from stylegan2_jax import state as train_state
from stylegan2_jax.networks.discriminator import Discriminator
from stylegan2_jax.networks.generator import Generator
from stylegan2_jax.sharding import batch_sharding

PHASES = ('Gmain', 'Greg', 'Dmain', 'Dreg')


@dataclasses.dataclass(frozen=True)
class LossSettings:
  """The hyperparameters of the official ``StyleGAN2Loss`` and training loop that the steps use."""
  batch_size: int                    # global batch (official --batch)
  r1_gamma: float = 10.0             # R1 weight, 0 = no Dreg phase
  pl_weight: float = 2.0             # path-length weight, 0 = no Greg phase
  pl_decay: float = 0.01             # decay of pl_mean
  pl_batch_shrink: int = 2           # Greg runs on batch_size // pl_batch_shrink
  style_mixing_prob: float = 0.9     # probability of mixing two latents
  G_reg_interval: int | None = 4     # Greg every k steps (None: in the same step as Gmain)
  D_reg_interval: int | None = 16    # Dreg every k steps (None: in the same step as Dmain)
  ema_kimg: float = 10.0             # half-life of the G EMA, in thousands of images
  ema_rampup: float | None = None    # EMA ramp-up, None = off
  mbstd_shards: int = 1              # minibatch-stddev groups stay inside each of these batch slices


def phase_key(state: train_state.TrainState, phase: str) -> jax.Array:
  """The PRNG key of one phase at ``state.step`` (independent of the device count)."""
  key = jax.random.wrap_key_data(state.rng)
  return jax.random.fold_in(jax.random.fold_in(key, state.step), PHASES.index(phase))


def to_float_images(images_uint8: jnp.ndarray) -> jnp.ndarray:
  """uint8 NCHW -> float32 in [-1, 1], as the official loop: ``x / 127.5 - 1``."""
  return images_uint8.astype(jnp.float32) / 127.5 - 1


class TrainSteps:
  """Builds the jitted phase steps for one G, D, optimizer pair, loss settings and mesh."""

  def __init__(self, G: Generator, D: Discriminator, G_opt, D_opt, settings: LossSettings, mesh):
    self.G, self.D, self.G_opt, self.D_opt = G, D, G_opt, D_opt
    self.settings = settings
    self.mesh = mesh
    self.batch = batch_sharding(mesh)
    s = settings
    self.g_step = self._jit(functools.partial(self._generator_step, main=True, reg=s.G_reg_interval is None
                                              and s.pl_weight > 0))
    self.g_reg_step = self._jit(functools.partial(self._generator_step, main=False, reg=True))
    self.d_step = self._jit(functools.partial(self._discriminator_step, main=True, reg=s.D_reg_interval is None
                                              and s.r1_gamma > 0))
    self.d_reg_step = self._jit(functools.partial(self._discriminator_step, main=False, reg=True))

  def _jit(self, fn):
    return jax.jit(fn, donate_argnums=0)

  def phases_at(self, step: int) -> list[str]:
    """The phases the official loop runs at iteration ``step`` (lazy regularizers every k steps)."""
    s = self.settings
    out = ['Gmain']
    if s.pl_weight > 0 and s.G_reg_interval is not None and step % s.G_reg_interval == 0:
      out.append('Greg')
    out.append('Dmain')
    if s.r1_gamma > 0 and s.D_reg_interval is not None and step % s.D_reg_interval == 0:
      out.append('Dreg')
    return out

  def run_phase(self, phase: str, state, real_img=None, real_c=None):
    """Runs one phase -> (new state, metrics)."""
    if phase == 'Gmain':
      return self.g_step(state, real_c)
    if phase == 'Greg':
      return self.g_reg_step(state, real_c)
    if phase == 'Dmain':
      return self.d_step(state, real_img, real_c)
    return self.d_reg_step(state, real_img, real_c)

  ##### draws ####################################################################################

  def _sharded(self, tree):
    return jax.lax.with_sharding_constraint(tree, self.batch)

  def draw(self, key: jax.Array, batch_size: int) -> dict:
    """Latents, mixing and noise of one ``run_G``, batch-sharded over the mesh."""
    draws = losses.draw_generator_inputs(key, self.G, batch_size, self.settings.style_mixing_prob,
                                         self.G.synthesis_kwargs.get('use_noise', True))
    for name in ('z', 'z2', 'noise'):
      if name in draws:
        draws[name] = self._sharded(draws[name])
    return draws

  def _gen_c(self, real_c, batch_size: int):
    """Official loop: generated images are conditioned on labels drawn from the dataset (here its batch)."""
    if self.G.c_dim == 0:
      return None
    return real_c[:batch_size]

  ##### generator ################################################################################

  def _generator_step(self, state, real_c, *, main: bool, reg: bool):
    s, G, D = self.settings, self.G, self.D
    key_main, key_reg = phase_key(state, 'Gmain'), phase_key(state, 'Greg')
    reg_batch = s.batch_size // s.pl_batch_shrink
    lazy_gain = 1.0 if s.G_reg_interval is None else float(s.G_reg_interval)

    def objective(g_params):
      total, buffers, metrics, pl_mean = 0.0, state.G['buffers'], {}, state.pl_mean
      if main:
        value, aux = losses.generator_main_loss(g_params, buffers, state.D['params'], G, D,
                                                self.draw(key_main, s.batch_size),
                                                self._gen_c(real_c, s.batch_size), s.mbstd_shards)
        total, buffers = total + value, aux['buffers']
        metrics.update(loss_G=jnp.mean(aux['loss_Gmain']), scores_fake=jnp.mean(aux['gen_logits']))
      if reg:
        draws = self.draw(key_reg, reg_batch)
        pl_noise = self._sharded(losses.draw_pl_noise(jax.random.fold_in(key_reg, 1),
                                                      (reg_batch, G.img_channels, G.img_resolution,
                                                       G.img_resolution)))
        value, aux = losses.path_length_loss(g_params, buffers, state.pl_mean, G, draws, pl_noise,
                                             self._gen_c(real_c, reg_batch), s.pl_weight, s.pl_decay,
                                             gain=lazy_gain)
        total, buffers, pl_mean = total + value, aux['buffers'], aux['pl_mean']
        metrics.update(loss_Gpl=jnp.mean(aux['loss_Gpl']), pl_penalty=jnp.mean(aux['pl_penalty']), pl_mean=pl_mean)
      return total, (buffers, metrics, pl_mean)

    grads, (buffers, metrics, pl_mean) = jax.grad(objective, has_aux=True)(state.G['params'])
    params, opt_state = train_state.apply_adam(self.G_opt, state.G['params'], state.G_opt, grads)
    new_state = state.replace(G={'params': params, 'buffers': buffers}, G_opt=opt_state, pl_mean=pl_mean)
    return new_state, metrics

  ##### discriminator ############################################################################

  def _discriminator_step(self, state, real_img_uint8, real_c, *, main: bool, reg: bool):
    s, G, D = self.settings, self.G, self.D
    real_img = to_float_images(real_img_uint8)
    lazy_gain = 1.0 if s.D_reg_interval is None else float(s.D_reg_interval)
    c = self._gen_c(real_c, s.batch_size)

    def objective(d_params):
      total, buffers, metrics = 0.0, state.G['buffers'], {}
      if main:
        value, aux = losses.discriminator_main_loss(d_params, state.G['params'], buffers, G, D,
                                                    self.draw(phase_key(state, 'Dmain'), s.batch_size), real_img,
                                                    real_c, c, s.mbstd_shards)
        total, buffers = total + value, aux['buffers']
        metrics.update(loss_D=jnp.mean(aux['loss_Dgen']) + jnp.mean(aux['loss_Dreal']),
                       scores_real=jnp.mean(aux['real_logits']), scores_fake=jnp.mean(aux['gen_logits']))
      if reg:
        value, aux = losses.r1_loss(d_params, D, real_img, real_c, s.r1_gamma, s.mbstd_shards, gain=lazy_gain)
        total = total + value
        metrics.update(loss_Dr1=jnp.mean(aux['loss_Dr1']), r1_penalty=jnp.mean(aux['r1_penalty']))
      return total, (buffers, metrics)

    grads, (buffers, metrics) = jax.grad(objective, has_aux=True)(state.D['params'])
    params, opt_state = train_state.apply_adam(self.D_opt, state.D['params'], state.D_opt, grads)
    state = state.replace(D={**state.D, 'params': params}, D_opt=opt_state,
                          G={**state.G, 'buffers': buffers})
    if main:  # Dmain is the last phase that touches G in an iteration: update G_ema and the counters
      beta = train_state.ema_beta(s.batch_size, s.ema_kimg, s.ema_rampup, state.nimg)
      state = state.replace(G_ema=train_state.ema_update(state.G_ema, state.G, beta),
                            step=state.step + 1, nimg=state.nimg + s.batch_size)
    return state, metrics
