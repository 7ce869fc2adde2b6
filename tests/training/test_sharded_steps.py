"""The phase steps give the same training on 1 device and on 8 (forced host devices), with sharded draws."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from conftest import REPO
from steps_runner import run_steps
from train_helpers import assert_same_training


def run_on_eight_devices(tmp_path, *args: str) -> dict[str, np.ndarray]:
  out = tmp_path / 'eight.npz'
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=8', PYTHONPATH=str(REPO))
  subprocess.run([sys.executable, str(REPO / 'tests' / 'training' / 'steps_runner.py'), str(out), *args],
                 check=True, env=env, cwd=tmp_path, timeout=600)
  return dict(np.load(out))


def test_three_steps_on_eight_devices_match_one_device(tmp_path):
  eight = run_on_eight_devices(tmp_path, '3', '8')
  assert int(eight['devices']) == 8
  assert str(eight['z_axis']) == 'data'  # each device draws only its slice of the latents
  one = run_steps(3, mbstd_shards=8)  # one device, same minibatch-stddev groups (inside each 2-image slice)
  names = [k for k in one if '/' in k] + ['pl_mean', 'w_avg']
  assert_same_training({k: eight[k] for k in names}, {k: one[k] for k in names}, lr=0.0025)
  # And training moved the parameters well beyond that tolerance (the comparison is not vacuous).
  start = run_steps(0, mbstd_shards=8)
  moved = max(float(np.abs(one[k] - start[k]).max()) for k in names if k.startswith('G/'))
  assert moved > 1e-3


def test_accumulation_rounds_on_eight_devices_match_one_device(tmp_path):
  # Batch 32, 2 rounds of 2 images per device: each device's slice is split into rounds, as on 8 official GPUs,
  # and the minibatch-stddev groups stay inside each round's per-device images.
  eight = run_on_eight_devices(tmp_path, '2', '8', '2', '32')
  one = run_steps(2, mbstd_shards=8, batch_rounds=2, batch=32)
  names = [k for k in one if '/' in k] + ['pl_mean', 'w_avg']
  assert_same_training({k: eight[k] for k in names}, {k: one[k] for k in names}, lr=0.0025)
  without_rounds = run_steps(2, mbstd_shards=8, batch=32)
  assert max(float(np.abs(one[k] - without_rounds[k]).max()) for k in names if k.startswith('D/')) > 1e-4
