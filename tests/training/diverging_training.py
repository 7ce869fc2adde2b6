"""Runs ``stylegan2_jax.main`` with D's parameters turned to NaN by the update of step 7 (for tests).

    python tests/training/diverging_training.py --config ... --workdir ...

The losses of step 7 are computed before that update and stay finite, as when a
learning rate explodes: only the parameters show it, at the checkpoint of step 8.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from stylegan2_jax import main
from stylegan2_jax.training.steps import TrainSteps

_run_phase = TrainSteps.run_phase


def _diverging(self, phase, state, *args):
  state, metrics = _run_phase(self, phase, state, *args)
  if phase == 'Dmain' and int(state.step) == 8:
    state = state.replace(D={**state.D, 'params': jax.tree.map(lambda x: x * jnp.nan, state.D['params'])})
  return state, metrics


if __name__ == '__main__':
  TrainSteps.run_phase = _diverging
  main.run()
