"""``--config.remat``: every training phase takes the same gradients, and runs resume across the setting."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from stylegan2_jax.augment import preset
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated
from stylegan2_jax.training import augmentation, state as train_state
from stylegan2_jax.training.build import build_networks, default_loss_settings
from stylegan2_jax.training.config import validate_config
from stylegan2_jax.training.loop import train_and_evaluate
from stylegan2_jax.training.steps import PHASES, TrainSteps
from test_accumulation import recorded_phase, recording_optimizer
from test_resume import assert_identical
from train_helpers import run_params, tiny_config

BATCH = 8
C_DIM = 3
# Labels, the two top resolutions in float16 with the official clamp: every path a phase can take.
G_KWARGS = dict(z_dim=8, c_dim=C_DIM, w_dim=8, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
                synthesis_kwargs=dict(channel_base=64, channel_max=8, num_fp16_res=2, conv_clamp=256))
D_KWARGS = dict(c_dim=C_DIM, img_resolution=16, img_channels=3, channel_base=64, channel_max=8, num_fp16_res=2,
                conv_clamp=256)
# bgc augmentation of everything D sees, at a fixed p
AUGMENT = augmentation.TrainingAugment(pipe=preset('bgc'), adaptive=False, initial_p=0.5, ada_target=0.6,
                                       ada_interval=4, ada_kimg=500.0)


def phase_gradients(remat: bool, rounds: int) -> dict[str, dict]:
  """The gradient each phase applies from the same initial state, by phase and path."""
  G = generator_from_kwargs(G_KWARGS).clone(remat=remat)
  D = discriminator_from_kwargs(D_KWARGS).clone(remat=remat)
  opt = recording_optimizer()
  settings = default_loss_settings(BATCH, r1_gamma=1.0, batch_rounds=rounds)
  mesh = data_mesh()
  steps = TrainSteps(G, D, opt, opt, settings, mesh, AUGMENT)
  fields = augmentation.state_fields(AUGMENT)
  state = jax.jit(lambda k: train_state.create_train_state(G, D, opt, opt, k, augment_fields=fields),
                  out_shardings=replicated(mesh))(jax.random.PRNGKey(7))
  rs = np.random.RandomState(0)
  real = jax.device_put(rs.randint(0, 256, (BATCH, 3, 16, 16)).astype(np.uint8), batch_sharding(mesh))
  labels = jax.device_put(np.eye(C_DIM, dtype=np.float32)[rs.randint(0, C_DIM, BATCH)], batch_sharding(mesh))
  out = {}
  for phase in PHASES:
    grads, _, metrics = recorded_phase(steps, state, phase, real, labels)
    out[phase] = {**grads, **{f'metric/{k}': np.asarray(v) for k, v in jax.device_get(metrics).items()}}
  return out


@pytest.mark.parametrize('rounds', [1, 2])  # 2: gradient accumulation (batch_gpu) rounds in a lax.scan
def test_every_phase_takes_identical_gradients(rounds):
  with_remat, without = phase_gradients(True, rounds), phase_gradients(False, rounds)
  for phase in PHASES:
    assert with_remat[phase].keys() == without[phase].keys()
    differ = [k for k in without[phase] if not np.array_equal(with_remat[phase][k], without[phase][k])]
    assert not differ, f'{phase}: {len(differ)} of {len(without[phase])} arrays differ, e.g. {differ[:3]}'
    assert any(np.any(g != 0) for k, g in without[phase].items() if not k.startswith('metric/'))


def test_config_builds_remat_networks():
  config = tiny_config(remat=True)
  G, D = build_networks(config, 3)
  assert G.remat and D.remat
  G, D = build_networks(tiny_config(), 3)
  assert not G.remat and not D.remat


def test_remat_must_be_a_bool():
  with pytest.raises(ValueError, match=r'--config.remat=.*True or False'):
    validate_config(tiny_config(remat='yes'), 1)


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  """8 steps without remat, in one go."""
  workdir = tmp_path_factory.mktemp('straight')
  train_and_evaluate(tiny_config(), workdir)
  return run_params(workdir)


@pytest.mark.parametrize('first,second', [(False, True), (True, False)])
def test_resume_across_the_setting_is_bit_identical(first, second, straight, tmp_path):
  """Checkpoints do not depend on remat: a run switched at its checkpoint ends as a straight run without remat."""
  switched = tmp_path / 'switched'
  train_and_evaluate(tiny_config(total_kimg=0.032, remat=first), switched)  # 4 steps, a checkpoint
  train_and_evaluate(tiny_config(remat=second), switched)  # resumed with the other setting, to step 8
  assert_identical(run_params(switched), straight)
