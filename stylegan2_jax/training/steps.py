"""The four official training phases (Gmain, Greg, Dmain, Dreg) as jit-compiled steps over a device mesh.

Each step takes the replicated :class:`TrainState` (donated) and returns the
new state and a dict of scalar metrics. Latents, mixing cutoffs and noise are
drawn inside the step from ``state.rng`` folded with the step number and the
phase, and constrained to the batch sharding so each device draws only its
slice. Real images arrive as a global uint8 NCHW array sharded over ``data``.
The train loop (``loop.py``) decides which phases run at which step.

Gradient accumulation follows the official ``batch_gpu``: with
``batch_rounds = R`` every one of the ``mbstd_shards`` batch slices (one per
device, as one per GPU in the official code) is split into R rounds; each
round is one official ``accumulate_gradients`` call (its own losses, mean over
the round, w_avg and pl_mean updates, style-mixing cutoff) inside a
``lax.scan``, and the phase's optimizer step applies the sum of the rounds'
gradients, as the official loop does. Within a round, a phase's loss terms
(Dmain: D on the generated, then on the real images; R1; Gmain, path length)
take their gradients one after another (:func:`sequential_grads`), as the
official code calls ``backward()`` per term, so that D's activations on one
set of images are live at a time (``sequential_terms``; off, XLA may interleave
them: fewer bytes moved, more memory).

With augmentation (``augmentation.TrainingAugment``), every image D sees is
augmented with the state's ``augment_p``; the pipe's draws are made like the
latents (from the phase key, batch-sharded, split into the rounds). Dmain and
Dreg report the mean sign of D on the reals (``signs_real``, the official
``Loss/signs/real``), and with ADA add it to ``state.ada_stats``;
:meth:`TrainSteps.ada_adjust` moves ``p`` every ``ada_interval`` iterations.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P

from stylegan2_jax import losses
from stylegan2_jax.augment import augment as augment_images, draw_augment_inputs
from stylegan2_jax.losses import LossSettings
from stylegan2_jax.training import augmentation, state as train_state
from stylegan2_jax.networks.discriminator import Discriminator
from stylegan2_jax.networks.generator import Generator
from stylegan2_jax.sharding import DATA_AXIS, batch_sharding

PHASES = ('Gmain', 'Greg', 'Dmain', 'Dreg')
AUGMENT_GEN_KEY, AUGMENT_REAL_KEY = 2, 3  # folded into a phase key for the augmentation draws of fakes and reals


def phase_key(state: train_state.TrainState, phase: str) -> jax.Array:
  """The PRNG key of one phase at ``state.step`` (independent of the device count)."""
  key = jax.random.wrap_key_data(state.rng)
  return jax.random.fold_in(jax.random.fold_in(key, state.step), PHASES.index(phase))


def sequential_grads(parts, params, carry, inputs):
  """The sum of ``grad part(params, carry, inputs)`` over ``parts``, each part's backward pass finished before
  the next part's forward pass starts -> (grads, carry, merged metrics).

  Without the ordering XLA may run all forward passes first and hold every
  part's activations at once (e.g. D on the generated and on the real images
  of Dmain); in sequence, one part's are live at a time, as in the official
  code, which calls ``backward()`` per loss term. Each part returns
  ``(value, (carry, metrics))``.
  """
  grads, metrics = None, {}
  for part in parts:
    if grads is not None:  # the barrier makes the next forward pass wait for the gradients so far
      params, grads = jax.lax.optimization_barrier((params, grads))
    part_grads, (carry, part_metrics) = jax.grad(part, has_aux=True)(params, carry, inputs)
    grads = part_grads if grads is None else jax.tree.map(jnp.add, grads, part_grads)
    metrics.update(part_metrics)
  return grads, carry, metrics


def summed_grads(parts, params, carry, inputs):
  """``grad`` of the sum of ``parts`` in one pass -> (grads, carry, merged metrics): the same numbers as
  :func:`sequential_grads`, with XLA free to interleave the parts (``sequential_terms=False``)."""
  def total(params, carry, inputs):
    value, metrics = 0.0, {}
    for part in parts:
      part_value, (carry, part_metrics) = part(params, carry, inputs)
      value, metrics = value + part_value, {**metrics, **part_metrics}
    return value, (carry, metrics)

  grads, (carry, metrics) = jax.grad(total, has_aux=True)(params, carry, inputs)
  return grads, carry, metrics


def to_float_images(images_uint8: jnp.ndarray) -> jnp.ndarray:
  """uint8 NCHW -> float32 in [-1, 1], as the official loop: ``x / 127.5 - 1``."""
  return images_uint8.astype(jnp.float32) / 127.5 - 1


def split_rounds(x, rounds: int, shards: int):
  """``[N, ...] -> [rounds, N // rounds, ...]``: round r takes the r-th of ``rounds`` equal parts of each of the
  ``shards`` contiguous batch slices (as every official GPU splits its own batch into ``batch_gpu`` rounds)."""
  n = x.shape[0]
  x = x.reshape((shards, rounds, n // (shards * rounds)) + x.shape[1:])
  return jnp.swapaxes(x, 0, 1).reshape((rounds, n // rounds) + x.shape[3:])


class TrainSteps:
  """Builds the jitted phase steps for one G, D, optimizer pair, loss settings and mesh."""

  def __init__(self, G: Generator, D: Discriminator, G_opt, D_opt, settings: LossSettings, mesh,
               augment: augmentation.TrainingAugment | None = None):
    self.G, self.D, self.G_opt, self.D_opt = G, D, G_opt, D_opt
    self.settings = settings
    self.augment = augment
    self.mesh = mesh
    self.batch = batch_sharding(mesh)
    self.round_batch = NamedSharding(mesh, P(None, DATA_AXIS))
    s = settings
    self.g_step = self._jit(functools.partial(self._generator_step, main=True, reg=s.G_reg_interval is None
                                              and s.pl_weight > 0))
    self.g_reg_step = self._jit(functools.partial(self._generator_step, main=False, reg=True))
    self.d_step = self._jit(functools.partial(self._discriminator_step, main=True, reg=s.D_reg_interval is None
                                              and s.r1_gamma > 0))
    self.d_reg_step = self._jit(functools.partial(self._discriminator_step, main=False, reg=True))
    self.ada_step = self._jit(self._ada_adjust)

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

  def ada_due(self, step: int) -> bool:
    """Whether ADA adjusts p after iteration ``step`` (counted from 1, as the official ``batch_idx % ada_interval``)."""
    return self.augment is not None and self.augment.adaptive and step % self.augment.ada_interval == 0

  def ada_adjust(self, state):
    """The state with p adjusted from the signs collected since the last adjustment (and those cleared)."""
    return self.ada_step(state)

  def _ada_adjust(self, state):
    p, stats = augmentation.ada_adjust(state.augment_p, state.ada_stats, self.augment, self.settings.batch_size)
    return state.replace(augment_p=p, ada_stats=stats)

  ##### draws and rounds #########################################################################

  def _sharded(self, tree):
    return jax.lax.with_sharding_constraint(tree, self.batch)

  def draw(self, key: jax.Array, batch_size: int) -> dict:
    """Latents, mixing and noise of one ``run_G`` (one cutoff per round), batch-sharded over the mesh."""
    draws = losses.draw_generator_inputs(key, self.G, batch_size, self.settings.style_mixing_prob,
                                         self.settings.batch_rounds)
    for name in ('z', 'z2', 'noise'):
      if name in draws:
        draws[name] = self._sharded(draws[name])
    return draws

  def _rounds(self, tree):
    """Batch arrays -> ``[rounds, batch // rounds, ...]``, each round still split over the devices."""
    s = self.settings
    split = jax.tree.map(lambda x: split_rounds(x, s.batch_rounds, s.mbstd_shards), tree)
    return jax.lax.with_sharding_constraint(split, self.round_batch)

  def _round_draws(self, key: jax.Array, batch_size: int) -> dict:
    draws = self.draw(key, batch_size)
    cutoff = draws.pop('cutoff', None)
    draws = self._rounds(draws)
    if cutoff is not None:
      draws['cutoff'] = jnp.reshape(cutoff, (self.settings.batch_rounds,))
    return draws

  def _round_augment_draws(self, key: jax.Array, batch_size: int) -> dict:
    """The augmentation draws of ``batch_size`` images, batch-sharded and split into rounds."""
    G = self.G
    shape = (batch_size, G.img_channels, G.img_resolution, G.img_resolution)
    return self._rounds(self._sharded(draw_augment_inputs(key, self.augment.pipe, shape)))

  def _augmenter(self, inputs: dict, which: str, p):
    """``img -> augmented img`` with one round's draws ``inputs[which]`` (geometric padding pooled per device
    slice), or None without augmentation."""
    if self.augment is None:
      return None
    pipe, shards = self.augment.pipe, self.settings.mbstd_shards
    return lambda img: augment_images(img, inputs[which], p, pipe, shards)

  def _accumulate(self, parts, params, carry, per_round):
    """Sum over the rounds of ``grad part(params, carry, round inputs)`` over the ``parts`` of a phase's
    objective -> (grads, carry, mean metrics).

    Each part returns ``(value, (carry, metrics))``; the carry (buffers,
    pl_mean) passes from part to part and from round to round; the parts' gradients
    are taken one after another (``sequential_terms``) or in one pass.
    """
    grads_of = sequential_grads if self.settings.sequential_terms else summed_grads
    if self.settings.batch_rounds == 1:
      return grads_of(parts, params, carry, jax.tree.map(lambda x: x[0], per_round))

    def one_round(acc, inputs):
      grads_sum, carry = acc
      grads, carry, metrics = grads_of(parts, params, carry, inputs)
      return (jax.tree.map(jnp.add, grads_sum, grads), carry), metrics

    (grads, carry), metrics = jax.lax.scan(one_round, (jax.tree.map(jnp.zeros_like, params), carry), per_round)
    return grads, carry, jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)

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
    per_round = {}
    if main:
      per_round.update(main=self._round_draws(key_main, s.batch_size),
                       c_main=self._rounds(self._gen_c(real_c, s.batch_size)))
      if self.augment is not None:
        per_round['aug_main'] = self._round_augment_draws(jax.random.fold_in(key_main, AUGMENT_GEN_KEY),
                                                          s.batch_size)
    if reg:
      pl_noise = losses.draw_pl_noise(jax.random.fold_in(key_reg, 1),
                                      (reg_batch, G.img_channels, G.img_resolution, G.img_resolution))
      per_round.update(reg=self._round_draws(key_reg, reg_batch), pl_noise=self._rounds(self._sharded(pl_noise)),
                       c_reg=self._rounds(self._gen_c(real_c, reg_batch)))

    def main_part(g_params, carry, inputs):
      buffers, pl_mean = carry
      value, aux = losses.generator_main_loss(g_params, buffers, state.D['params'], G, D, inputs['main'],
                                              inputs['c_main'], s.mbstd_shards,
                                              augment=self._augmenter(inputs, 'aug_main', state.augment_p))
      return value, ((aux['buffers'], pl_mean),
                     dict(loss_G=jnp.mean(aux['loss_Gmain']), scores_fake=jnp.mean(aux['gen_logits'])))

    def reg_part(g_params, carry, inputs):
      buffers, pl_mean = carry
      value, aux = losses.path_length_loss(g_params, buffers, pl_mean, G, inputs['reg'], inputs['pl_noise'],
                                           inputs['c_reg'], pl_weight=s.pl_weight, pl_decay=s.pl_decay,
                                           gain=lazy_gain)
      return value, ((aux['buffers'], aux['pl_mean']),
                     dict(loss_Gpl=jnp.mean(aux['loss_Gpl']), pl_penalty=jnp.mean(aux['pl_penalty'])))

    parts = [main_part] * main + [reg_part] * reg
    grads, (buffers, pl_mean), metrics = self._accumulate(parts, state.G['params'],
                                                          (state.G['buffers'], state.pl_mean), per_round)
    if reg:
      metrics['pl_mean'] = pl_mean
    params, opt_state = train_state.apply_adam(self.G_opt, state.G['params'], state.G_opt, grads)
    new_state = state.replace(G={'params': params, 'buffers': buffers}, G_opt=opt_state, pl_mean=pl_mean)
    return new_state, metrics

  ##### discriminator ############################################################################

  def _discriminator_step(self, state, real_img_uint8, real_c, *, main: bool, reg: bool):
    s, G, D = self.settings, self.G, self.D
    lazy_gain = 1.0 if s.D_reg_interval is None else float(s.D_reg_interval)
    per_round = dict(real_img=self._rounds(to_float_images(real_img_uint8)), real_c=self._rounds(real_c),
                     gen_c=self._rounds(self._gen_c(real_c, s.batch_size)))
    key = phase_key(state, 'Dmain' if main else 'Dreg')
    if main:
      per_round['draws'] = self._round_draws(key, s.batch_size)
    if self.augment is not None:  # one augmentation of the reals serves Dmain and R1 when they run together
      per_round['aug_real'] = self._round_augment_draws(jax.random.fold_in(key, AUGMENT_REAL_KEY), s.batch_size)
      if main:
        per_round['aug_gen'] = self._round_augment_draws(jax.random.fold_in(key, AUGMENT_GEN_KEY), s.batch_size)

    def augmenter(inputs, which):
      return self._augmenter(inputs, which, state.augment_p)

    def gen_part(d_params, buffers, inputs):
      value, aux = losses.discriminator_gen_loss(d_params, state.G['params'], buffers, G, D, inputs['draws'],
                                                 inputs['gen_c'], s.mbstd_shards, augment=augmenter(inputs, 'aug_gen'))
      return value, (aux['buffers'], dict(loss_Dgen=jnp.mean(aux['loss_Dgen']),
                                          scores_fake=jnp.mean(aux['gen_logits'])))

    def real_part(d_params, buffers, inputs):
      value, aux = losses.discriminator_real_loss(d_params, D, inputs['real_img'], inputs['real_c'],
                                                  s.mbstd_shards, augment=augmenter(inputs, 'aug_real'))
      return value, (buffers, dict(loss_Dreal=jnp.mean(aux['loss_Dreal']), scores_real=jnp.mean(aux['real_logits']),
                                   signs_real=jnp.mean(jnp.sign(aux['real_logits']))))

    def r1_part(d_params, buffers, inputs):
      value, aux = losses.r1_loss(d_params, D, inputs['real_img'], inputs['real_c'], r1_gamma=s.r1_gamma,
                                  mbstd_shards=s.mbstd_shards, gain=lazy_gain, augment=augmenter(inputs, 'aug_real'))
      metrics = dict(loss_Dr1=jnp.mean(aux['loss_Dr1']), r1_penalty=jnp.mean(aux['r1_penalty']))
      if not main:  # the official Dr1 phase reports its real logits too (one forward when run with Dmain)
        metrics['signs_real'] = jnp.mean(jnp.sign(aux['real_logits']))
      return value, (buffers, metrics)

    # One part after another (``sequential_grads``): D's activations on one set of images live at a time.
    parts = [gen_part, real_part] * main + [r1_part] * reg
    grads, buffers, metrics = self._accumulate(parts, state.D['params'], state.G['buffers'], per_round)
    if main:
      metrics['loss_D'] = metrics.pop('loss_Dgen') + metrics.pop('loss_Dreal')
    params, opt_state = train_state.apply_adam(self.D_opt, state.D['params'], state.D_opt, grads)
    state = state.replace(D={**state.D, 'params': params}, D_opt=opt_state,
                          G={**state.G, 'buffers': buffers})
    if self.augment is not None and self.augment.adaptive:
      state = state.replace(ada_stats=augmentation.with_signs(state.ada_stats, metrics['signs_real'], s.batch_size))
    if main:  # Dmain is the last phase that touches G in an iteration: update G_ema and the counters
      beta = train_state.ema_beta(s.batch_size, s.ema_kimg, s.ema_rampup, state.nimg)
      state = state.replace(G_ema=train_state.ema_update(state.G_ema, state.G, beta),
                            step=state.step + 1, nimg=state.nimg + s.batch_size)
    return state, metrics
