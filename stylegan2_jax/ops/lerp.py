"""Linear interpolation rounded the way ``torch.lerp`` rounds it (used by w_avg and G EMA)."""

import jax.numpy as jnp


def lerp(start, end, weight):
  """``start + weight * (end - start)``, evaluated as torch does: from ``end`` when ``|weight| >= 0.5``.

  The two forms are equal in exact arithmetic; matching torch's choice keeps
  decays close to 1 (w_avg 0.995, EMA 0.999) within an ulp of the official code.
  """
  diff = end - start
  return jnp.where(jnp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))
