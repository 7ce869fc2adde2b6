"""``--config.remat``: every training phase takes the same gradients, and runs resume across the setting.

Rematerialized blocks compute the same math, and each block alone gives bit-identical
outputs and gradients (``tests/networks/test_remat_blocks.py``). A whole phase is not
bit-identical: XLA fuses the recomputed forward pass into the backward pass
differently and reassociates some float32 sums (measured: at most 1.0e-6 of an
array's largest gradient, in Greg's double backward pass; Gmain and Dmain were
identical). In float16 layers those last-bit differences are rounded at float16's
precision, 2^-11, so this file checks float32 networks against float32 rounding.
"""

from __future__ import annotations

import shutil

import jax
import numpy as np
import pytest

from stylegan2_jax.augment import preset
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.training import augmentation
from stylegan2_jax.training.build import build_networks
from stylegan2_jax.training.config import validate_config
from stylegan2_jax.training.loop import train_and_evaluate
from stylegan2_jax.training.steps import PHASES
from test_accumulation import phase_gradients as one_phase_gradients
from train_helpers import run_params, tiny_config

BATCH = 8
C_DIM = 3
# Labels and the official clamp, in float32 (see above)
G_KWARGS = dict(z_dim=8, c_dim=C_DIM, w_dim=8, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
                synthesis_kwargs=dict(channel_base=64, channel_max=8, conv_clamp=256))
D_KWARGS = dict(c_dim=C_DIM, img_resolution=16, img_channels=3, channel_base=64, channel_max=8, conv_clamp=256)
FLOAT32_ROUNDING = 1e-5  # of an array's largest value: 10x the largest difference measured
# bgc augmentation of everything D sees, at a fixed p
AUGMENT = augmentation.TrainingAugment(pipe=preset('bgc'), adaptive=False, initial_p=0.5, ada_target=0.6,
                                       ada_interval=4, ada_kimg=500.0)


def phase_gradients(remat: bool, rounds: int) -> dict[str, dict]:
  """The gradient each phase applies from the same initial state (a fresh one per phase), by phase and path."""
  G = generator_from_kwargs(G_KWARGS).clone(remat=remat)
  D = discriminator_from_kwargs(D_KWARGS).clone(remat=remat)
  out = {}
  for phase in PHASES:
    grads, _, metrics = one_phase_gradients(rounds, phase, G=G, D=D, augment=AUGMENT, batch=BATCH)
    out[phase] = {**grads, **{f'metric/{k}': np.asarray(v) for k, v in jax.device_get(metrics).items()}}
  return out


def assert_close_to_rounding(got: np.ndarray, want: np.ndarray, what: str, scale=None):
  """``got`` equals ``want`` up to float32 rounding of sums: relative to ``scale`` (default: want's largest value)."""
  scale = np.abs(want).max() if scale is None else scale
  worst = np.abs(got.astype(np.float64) - want).max(initial=0.0)
  assert worst <= FLOAT32_ROUNDING * scale, f'{what}: differs by {worst:.3g} (scale {scale:.3g})'


@pytest.mark.parametrize('rounds', [1, 2])  # 2: gradient accumulation (batch_gpu) rounds in a lax.scan
def test_every_phase_takes_the_same_gradients(rounds):
  with_remat, without = phase_gradients(True, rounds), phase_gradients(False, rounds)
  for phase in PHASES:
    assert with_remat[phase].keys() == without[phase].keys()
    for name, want in without[phase].items():
      assert_close_to_rounding(with_remat[phase][name], want, f'{phase} {name}')
    assert any(np.any(g != 0) for k, g in without[phase].items() if not k.startswith('metric/'))


def test_config_builds_remat_networks():
  config = tiny_config(remat=True)
  G, D = build_networks(config, 3)
  assert G.remat and D.remat
  G, D = build_networks(tiny_config(), 3)
  assert not G.remat and not D.remat


def test_remat_must_be_a_bool():
  config = tiny_config()
  with config.ignore_type():  # the command line refuses non-booleans itself; a config file could still set one
    config.remat = 'yes'
  with pytest.raises(ValueError, match=r'--config.remat=.*True or False'):
    validate_config(config, 1)


def test_a_run_resumes_with_remat_turned_on(tiny_run, tiny_run_halfway, tmp_path):
  """Checkpoints do not depend on remat: the second half with it ends where the straight run ends, up to rounding.

  Bounded relative to how far the resumed steps moved each array (measured: at most 4e-5 of it), so an array the
  steps did not move (counters, frozen buffers) must be identical.
  """
  halfway = run_params(tiny_run_halfway)
  switched = tmp_path / 'switched'
  shutil.copytree(tiny_run_halfway, switched)
  train_and_evaluate(tiny_config(remat=True), switched)  # resumed with remat, to step 8
  got, (_, straight) = run_params(switched), tiny_run
  assert got.keys() == straight.keys()
  assert int(got['.step']) == int(straight['.step']) == 8
  for name, want in straight.items():
    moved = np.abs(np.asarray(want, np.float64) - halfway[name]).max(initial=0.0)
    assert_close_to_rounding(np.asarray(got[name]), np.asarray(want), name, scale=100 * moved)
