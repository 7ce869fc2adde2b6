"""The training state pytree, the lazy-regularization Adam and the generator EMA.

Names follow the official ``training_loop.py``: ``step`` is its ``batch_idx``,
``nimg`` its ``cur_nimg``.
"""

from __future__ import annotations

import math
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from stylegan2_jax.networks.config import init_discriminator, init_generator
from stylegan2_jax.ops.lerp import lerp


@flax.struct.dataclass
class TrainState:
  """Everything that changes during training; a pytree of arrays (checkpointed as is)."""
  step: jnp.ndarray        # iterations done (official batch_idx), int32
  nimg: jnp.ndarray        # real images shown so far (official cur_nimg), int32
  G: dict                  # generator variables: 'params' and 'buffers' (w_avg, noise_const)
  G_ema: dict              # exponential moving average of G (buffers copied)
  D: dict                  # discriminator variables: 'params'
  G_opt: Any               # optax state of G's Adam
  D_opt: Any               # optax state of D's Adam
  pl_mean: jnp.ndarray     # running mean of the path lengths, float32 scalar
  rng: jnp.ndarray         # raw PRNG key data (uint32), folded with step and phase for each draw
  augment_p: jnp.ndarray | None = None  # augmentation probability p, float32 scalar (None: no augmentation)
  ada_stats: jnp.ndarray | None = None  # ADA: [sum of sign(D(real)), count] since p was last adjusted (None: no ADA)


def lazy_regularization_ratio(reg_interval: int | None) -> float:
  """Official ``mb_ratio``: ``k / (k + 1)`` for regularization every k steps, 1 without lazy regularization."""
  return 1.0 if not reg_interval else reg_interval / (reg_interval + 1)


def official_adam(learning_rate: float, b1: float, b2: float, eps: float = 1e-8) -> optax.GradientTransformation:
  """Adam with the arithmetic of ``torch.optim.Adam``: ``p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)``.

  The bias corrections ``1 - beta ** t`` are evaluated as ``-expm1(t log beta)``:
  with ``beta2 = 0.99 ** 0.8`` the plain float32 form loses about 2e-6 of every
  step to cancellation, which torch (computing it in double) does not.
  """
  log_b1 = math.log(b1) if b1 > 0 else None
  log_b2 = math.log(b2)

  def init(params):
    return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=jax.tree.map(jnp.zeros_like, params),
                                  nu=jax.tree.map(jnp.zeros_like, params))

  def update(grads, state, params=None):
    del params
    count = state.count + 1
    t = count.astype(jnp.float32)
    mu = jax.tree.map(lambda m, g: m * b1 + g * (1 - b1), state.mu, grads)
    nu = jax.tree.map(lambda v, g: v * b2 + g * g * (1 - b2), state.nu, grads)
    bc1 = 1.0 if log_b1 is None else -jnp.expm1(t * log_b1)
    bc2_sqrt = jnp.sqrt(-jnp.expm1(t * log_b2))
    step_size = learning_rate / bc1
    updates = jax.tree.map(lambda m, v: -step_size * (m / (jnp.sqrt(v) / bc2_sqrt + eps)), mu, nu)
    return updates, optax.ScaleByAdamState(count=count, mu=mu, nu=nu)

  return optax.GradientTransformation(init, update)


def lazy_adam(learning_rate: float, reg_interval: int | None, betas=(0.0, 0.99),
              eps: float = 1e-8) -> optax.GradientTransformation:
  """The official optimizer: Adam with the lazy-regularization compensation ``lr * r``, ``betas ** r``."""
  ratio = lazy_regularization_ratio(reg_interval)
  return official_adam(learning_rate * ratio, betas[0] ** ratio, betas[1] ** ratio, eps)


def sanitize_gradients(grads):
  """As the official loop before each step: NaN -> 0, +-Inf -> +-1e5."""
  return jax.tree.map(lambda g: jnp.nan_to_num(g, nan=0.0, posinf=1e5, neginf=-1e5), grads)


def apply_adam(optimizer: optax.GradientTransformation, params, opt_state, grads):
  """One optimizer step on sanitized gradients -> (params, opt_state)."""
  updates, opt_state = optimizer.update(sanitize_gradients(grads), opt_state, params)
  return optax.apply_updates(params, updates), opt_state


def ema_beta(batch_size: int, ema_kimg: float, ema_rampup: float | None, nimg) -> jnp.ndarray:
  """Official G EMA decay: ``0.5 ** (batch / ema_nimg)``, ``ema_nimg`` ramped up with ``nimg * ema_rampup``."""
  ema_nimg = jnp.float32(ema_kimg * 1000)
  if ema_rampup is not None:
    ema_nimg = jnp.minimum(ema_nimg, jnp.asarray(nimg, jnp.float32) * ema_rampup)
  return jnp.power(jnp.float32(0.5), batch_size / jnp.maximum(ema_nimg, 1e-8))


def ema_update(G_ema: dict, G: dict, beta) -> dict:
  """``p_ema <- lerp(p, p_ema, beta)`` for parameters; buffers (w_avg, noise_const) are copied."""
  params = jax.tree.map(lambda p, p_ema: lerp(p, p_ema, beta), G['params'], G_ema['params'])
  return {**G, 'params': params}


def create_train_state(G, D, G_opt: optax.GradientTransformation, D_opt: optax.GradientTransformation,
                       key: jax.Array, G_vars: dict | None = None, D_vars: dict | None = None,
                       G_ema_vars: dict | None = None, augment_fields: dict | None = None) -> TrainState:
  """A fresh state: networks initialized as the official constructors do (or given), G_ema a copy of G (or given).

  ``augment_fields`` are the augmentation fields (``training.augmentation.state_fields``).
  Call it under ``jax.jit`` with replicated ``out_shardings`` to create the
  state directly on the mesh (also in multi-process runs).
  """
  g_key, d_key, rng = jax.random.split(key, 3)
  G_vars = init_generator(G, g_key) if G_vars is None else G_vars
  D_vars = init_discriminator(D, d_key) if D_vars is None else D_vars
  G_vars = {'params': G_vars['params'], 'buffers': G_vars.get('buffers', {})}
  D_vars = {'params': D_vars['params']}
  return TrainState(step=jnp.zeros([], jnp.int32), nimg=jnp.zeros([], jnp.int32), G=G_vars,
                    G_ema=jax.tree.map(jnp.copy, G_vars if G_ema_vars is None else dict(G_ema_vars)), D=D_vars,
                    G_opt=G_opt.init(G_vars['params']), D_opt=D_opt.init(D_vars['params']),
                    pl_mean=jnp.zeros([], jnp.float32), rng=jax.random.key_data(rng), **(augment_fields or {}))


def abstract_train_state(G, D, G_opt: optax.GradientTransformation, D_opt: optax.GradientTransformation,
                         sharding, augment_fields: dict | None = None) -> TrainState:
  """Shapes, dtypes and ``sharding`` of a :class:`TrainState` without computing it (a checkpoint restore target)."""
  abstract = jax.eval_shape(lambda key: create_train_state(G, D, G_opt, D_opt, key, augment_fields=augment_fields),
                            jax.random.PRNGKey(0))
  return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding), abstract)
