"""Bias, activation, gain and clamp fused in one elementwise op (official ``bias_act``), NHWC layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# name -> (function, default gain), as ``activation_funcs`` in the official code.
ACTIVATIONS = {
    'linear': (lambda x: x, 1.0),
    'relu': (jax.nn.relu, float(np.sqrt(2))),
    'lrelu': (lambda x: jnp.where(x >= 0, x, x * jnp.asarray(0.2, x.dtype)), float(np.sqrt(2))),
    'tanh': (jnp.tanh, 1.0),
    'sigmoid': (jax.nn.sigmoid, 1.0),
    'elu': (jax.nn.elu, 1.0),
    'selu': (jax.nn.selu, 1.0),
    'softplus': (jax.nn.softplus, 1.0),
    'swish': (jax.nn.swish, float(np.sqrt(2))),
}


def default_gain(act: str) -> float:
  """The official default gain of activation ``act`` (sqrt(2) for lrelu, 1 for linear)."""
  if act not in ACTIVATIONS:
    raise ValueError(f'unknown activation {act!r}; choose one of {sorted(ACTIVATIONS)}')
  return ACTIVATIONS[act][1]


def bias_act(x: jnp.ndarray, b: jnp.ndarray | None = None, act: str = 'linear',
             gain: float | None = None, clamp: float | None = None) -> jnp.ndarray:
  """Computes ``clamp(act(x + b) * gain)``; ``b`` broadcasts over the last (channel) axis."""
  fn, def_gain = ACTIVATIONS[act] if act in ACTIVATIONS else (None, None)
  if fn is None:
    raise ValueError(f'unknown activation {act!r}; choose one of {sorted(ACTIVATIONS)}')
  gain = def_gain if gain is None else float(gain)
  if b is not None:
    x = x + b.astype(x.dtype)
  x = fn(x)
  if gain != 1:
    x = x * jnp.asarray(gain, x.dtype)
  if clamp is not None and clamp >= 0:
    x = jnp.clip(x, -clamp, clamp)
  return x
