"""Shared pieces of the training-loop tests: the tiny demo config and reading a run's parameters."""

from __future__ import annotations

import importlib.util
import os

import jax
import numpy as np

from conftest import REPO
from configs.demo import get_config
from stylegan2_jax.training.runs import load_run


def tiny_config(**overrides):
  """``configs/demo.py:tiny`` (16x16, batch 8, 8 steps, a checkpoint every 4) with overrides."""
  config = get_config('tiny')
  config.update(overrides)
  return config


def run_params(workdir) -> dict[str, np.ndarray]:
  """Every array of the newest checkpoint's state, flattened by path."""
  state, _, _, _ = load_run(workdir)
  leaves, _ = jax.tree_util.tree_flatten_with_path(jax.device_get(state))
  return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def subprocess_env(**extra) -> dict[str, str]:
  """Environment for a training subprocess that computes exactly like this test process."""
  return {**os.environ, 'PYTHONPATH': str(REPO), 'JAX_DEFAULT_MATMUL_PRECISION': 'highest', **extra}


def assert_same_training(actual: dict, expected: dict, lr: float) -> None:
  """Two runs that differ only in how the batch is split over devices or processes trained the same way.

  Sharded reductions add in another order (about 1e-7 relative in the gradients). Adam's update
  ``lr * g / (sqrt(v) + eps)`` is insensitive to that except for the few elements whose gradients are
  near zero, where it can move by a fraction of ``lr``. So: every element within 1e-6 (+1e-5 relative),
  except at most 1% of any array, and those within lr / 10. A wrong minibatch-stddev grouping, RNG or
  reduction moves most elements by about lr and fails.
  """
  assert actual.keys() == expected.keys()
  for name, ref in expected.items():
    if ref.dtype.kind != 'f':
      np.testing.assert_array_equal(actual[name], ref, err_msg=name)
      continue
    diff = np.abs(actual[name] - ref)
    off = diff > 1e-6 + 1e-5 * np.abs(ref)
    assert off.mean() <= 0.01, f'{name}: {off.sum()} of {off.size} elements differ (max {diff.max():.3g})'
    assert diff.max() <= lr / 10, f'{name}: max difference {diff.max():.3g} exceeds lr/10'


def local_launcher():
  """The ``launch/local.py`` module (a standalone script, loaded from its path)."""
  spec = importlib.util.spec_from_file_location('launch_local', REPO / 'launch' / 'local.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module
