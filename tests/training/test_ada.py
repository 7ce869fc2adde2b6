"""ADA in training: D sees augmented images in every phase, p follows the official heuristic, resumes exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REPO
from steps_runner import BATCH, D_KWARGS, G_KWARGS, ada_augment, run_steps
from test_resume import assert_identical
from test_sharded_steps import run_on_eight_devices
from train_helpers import assert_same_training, run_params, tiny_config
from stylegan2_jax import losses
from stylegan2_jax.augment import augment as augment_images, draw_augment_inputs, preset
from stylegan2_jax.data.sources import ArraySource, random_subset
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs, init_discriminator
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated
from stylegan2_jax.training import augmentation, state as train_state
from stylegan2_jax.training.build import default_loss_settings
from stylegan2_jax.training.checkpoints import Checkpointer
from stylegan2_jax.training.config import validate_config
from stylegan2_jax.training.loop import ConfigMismatchError, train_and_evaluate
from stylegan2_jax.training.steps import TrainSteps

ADA = augmentation.TrainingAugment(pipe=preset('bgc'), adaptive=True, initial_p=0.0, ada_target=0.6,
                                   ada_interval=4, ada_kimg=500.0)


def official_p(p: float, signs_sum: float, count: float, *, target=0.6, batch=32, interval=4, kimg=500.0):
  """training_loop.py: the mean sign in float64, ``adjust`` in float64, added to the float32 p, clamped at 0."""
  adjust = np.sign(signs_sum / count - target) * (batch * interval) / (kimg * 1000)
  return max(np.float32(p) + np.float32(adjust), np.float32(0))


##### the heuristic ################################################################################

@pytest.mark.parametrize('p,signs,count', [(0.3, 100, 128), (0.3, -10, 128), (0.3, 128, 128), (0.3, 76, 128),
                                           (1e-4, -128, 128), (0.3, 96, 160), (0.0, 0, 128)])
def test_adjustment_is_the_official_formula(p, signs, count):
  new_p, stats = augmentation.ada_adjust(jnp.float32(p), jnp.asarray([signs, count], jnp.float32), ADA, 32)
  assert float(new_p) == official_p(p, signs, count)
  np.testing.assert_array_equal(stats, [0, 0])


def test_adjustment_direction_size_and_clamp():
  step = 32 * 4 / (500 * 1000)  # batch * ada_interval / (ada_kimg * 1000)
  adjust = lambda p, signs: float(augmentation.ada_adjust(jnp.float32(p), jnp.float32([signs, 128]), ADA, 32)[0])
  assert adjust(0.3, 100) == pytest.approx(0.3 + step, abs=1e-7)  # r_t 0.78 > 0.6: D overfits, more augmentation
  assert adjust(0.3, 10) == pytest.approx(0.3 - step, abs=1e-7)   # r_t 0.08 < 0.6: less
  assert adjust(step / 2, -128) == 0.0                             # never below 0
  assert float(augmentation.ada_adjust(jnp.float32(0.3), jnp.float32([96, 160]), ADA, 32)[0]) == np.float32(0.3)


def test_rt_is_the_mean_sign_over_the_phases_that_report_it():
  ticks = [{'Dmain/signs_real': 0.5, 'Gmain/loss_G': 1.0}, {'Dmain/signs_real': 1.0, 'Dreg/signs_real': 0.0}]
  assert augmentation.tick_rt(ticks) == pytest.approx(0.5)
  assert augmentation.tick_rt([{'Gmain/loss_G': 1.0}]) is None


##### config ######################################################################################

@pytest.mark.parametrize('override,message', [
    (dict(augment='adaptive'), "--config.augment='adaptive': must be 'ada', 'fixed', 'none'"),
    (dict(augpipe='bgx'), "--config.augpipe='bgx': unknown preset; choose one of blit, geom, color"),
    (dict(augment_p=1.5), '--config.augment_p=1.5: must be in [0, 1]'),
    (dict(ada_target=-0.1), '--config.ada_target=-0.1: must be in [0, 1]'),
    (dict(ada_interval=0), '--config.ada_interval=0: must be an integer >= 1'),
    (dict(ada_kimg=0.0), '--config.ada_kimg=0.0: must be positive'),
    (dict(max_images=-1), '--config.max_images=-1: must be an integer >= 0'),
])
def test_bad_augment_settings_get_one_clear_line(override, message):
  with pytest.raises(ValueError) as error:
    validate_config(tiny_config(**override), 1)
  assert str(error.value).startswith(message) and '\n' not in str(error.value)


def test_defaults_are_the_official_ones():
  from stylegan2_jax.training.config import training_config
  config = training_config()
  assert (config.augment, config.augpipe, config.augment_p, config.ada_target, config.ada_interval,
          config.ada_kimg) == ('ada', 'bgc', 0.0, 0.6, 4, 500.0)
  validate_config(config, 1)


def test_the_pipe_must_suit_the_channels():
  config = tiny_config(augment='ada')
  assert augmentation.training_augment(config, 1).pipe == preset('bgc')
  assert augmentation.training_augment(tiny_config(augment='none'), 4) is None
  with pytest.raises(ValueError, match='--config.augpipe=bgc: color augmentations need RGB or grayscale'):
    augmentation.training_augment(config, 4)
  assert augmentation.training_augment(tiny_config(augment='fixed', augpipe='bg', augment_p=0.3), 4).initial_p == 0.3


def test_the_train_command_refuses_an_unknown_augpipe_in_one_line(tmp_path):
  result = subprocess.run([sys.executable, '-m', 'stylegan2_jax.cli', 'train', '--config',
                           str(REPO / 'configs' / 'demo.py') + ':tiny', '--workdir', str(tmp_path / 'run'),
                           '--config.augpipe=bgcx'], capture_output=True, text=True, cwd=REPO, timeout=300)
  assert result.returncode != 0
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and "--config.augpipe='bgcx': unknown preset; choose one of blit, geom" in lines[0], lines


def test_max_images_is_the_official_random_subset():
  source = ArraySource(np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1), np.arange(10) % 3)
  subset = random_subset(source, 4, seed=7)
  indices = np.arange(10)
  np.random.RandomState(7).shuffle(indices)
  expected = np.sort(indices[:4])
  assert len(subset) == 4 and [int(subset.read(i)[0][0, 0, 0]) for i in range(4)] == list(expected)
  np.testing.assert_array_equal(subset.labels, expected % 3)
  assert random_subset(source, 0, 7) is source and random_subset(source, 10, 7) is source


##### what D sees ##################################################################################

def _tiny_steps(augment, mesh):
  G, D = generator_from_kwargs(G_KWARGS), discriminator_from_kwargs(D_KWARGS)
  G_opt, D_opt = train_state.lazy_adam(0.0025, 2), train_state.lazy_adam(0.0025, 2)
  settings = default_loss_settings(BATCH, r1_gamma=1.0, G_reg_interval=2, D_reg_interval=2, ema_kimg=0.01)
  steps = TrainSteps(G, D, G_opt, D_opt, settings, mesh, augment)
  fields = augmentation.state_fields(augment)
  create = jax.jit(lambda k: train_state.create_train_state(G, D, G_opt, D_opt, k, augment_fields=fields),
                   out_shardings=replicated(mesh))
  return steps, lambda: create(jax.random.PRNGKey(3))


def test_every_phase_shows_d_augmented_images_and_fixed_keeps_p():
  mesh = data_mesh()
  real = jax.device_put(np.random.RandomState(0).randint(0, 256, (BATCH, 3, 16, 16)).astype(np.uint8),
                        batch_sharding(mesh))
  fixed = augmentation.TrainingAugment(pipe=preset('bgc'), adaptive=False, initial_p=1.0, ada_target=0.6,
                                       ada_interval=4, ada_kimg=500.0)
  results = {}
  for name, augment in (('none', None), ('fixed', fixed)):
    steps, fresh = _tiny_steps(augment, mesh)
    for phase in ('Gmain', 'Dmain', 'Dreg'):
      state, metrics = steps.run_phase(phase, fresh(), real)
      results[name, phase] = jax.device_get(metrics)
      if augment is not None:
        assert float(state.augment_p) == 1.0 and state.ada_stats is None
      else:
        assert state.augment_p is None
    assert not any(steps.ada_due(s) for s in range(1, 9))
  # D's view of generated images (Gmain, Dmain), of real images (Dmain, Dreg) and R1 all change with p = 1.
  for phase, key in (('Gmain', 'scores_fake'), ('Dmain', 'scores_fake'), ('Dmain', 'scores_real'),
                     ('Dreg', 'r1_penalty'), ('Dreg', 'signs_real')):
    assert results['fixed', phase][key] != results['none', phase][key], (phase, key)


def test_r1_differentiates_through_the_augmentation_of_the_reals():
  D = discriminator_from_kwargs(D_KWARGS)
  d_params = init_discriminator(D, jax.random.PRNGKey(0))['params']
  x = jax.random.normal(jax.random.PRNGKey(1), (4, 3, 16, 16))
  pipe = preset('geom')
  draws = draw_augment_inputs(jax.random.PRNGKey(2), pipe, x.shape)
  aug = lambda img: augment_images(img, draws, jnp.float32(1.0), pipe)
  through = losses.r1_loss(d_params, D, x, r1_gamma=1.0, augment=aug)[1]['r1_grads']
  at_augmented = losses.r1_loss(d_params, D, aug(x), r1_gamma=1.0)[1]['r1_grads']
  chained = jax.vjp(aug, x)[1](at_augmented)[0]  # d D(aug(x)) / dx = (d aug / dx)^T d D / d aug(x)
  np.testing.assert_allclose(through, chained, rtol=1e-5, atol=1e-6 * float(jnp.abs(chained).max()))
  assert float(jnp.abs(through - at_augmented).max()) > 0.1 * float(jnp.abs(at_augmented).max())


##### p over iterations ############################################################################

def test_p_follows_the_signs_of_the_reals_in_dmain_and_dreg():
  mesh = data_mesh()
  augment = ada_augment(0.32)  # p from 0.5, every 2 iterations by 16 * 2 / 320 = 0.1
  steps, fresh = _tiny_steps(augment, mesh)
  state, p, signs, count = fresh(), np.float32(0.5), 0.0, 0
  reals = np.random.RandomState(0).randint(0, 256, (6, BATCH, 3, 16, 16)).astype(np.uint8)
  history = []
  for step in range(6):
    for phase in steps.phases_at(step):
      state, metrics = steps.run_phase(phase, state, jax.device_put(reals[step], batch_sharding(mesh)))
      if 'signs_real' in metrics:  # Dmain every step, Dreg every 2nd: both count, as the official collector
        signs, count = signs + round(float(metrics['signs_real']) * BATCH), count + BATCH
    if steps.ada_due(step + 1):
      state = steps.ada_adjust(state)
      p = official_p(p, signs, count, batch=BATCH, interval=2, kimg=0.32)
      signs, count = 0.0, 0
    history.append(float(state.augment_p))
    assert history[-1] == p, (step, history)
  np.testing.assert_array_equal(jax.device_get(state.ada_stats), [0, 0])
  assert len(set(history)) > 1  # p moved


@pytest.mark.slow  # about 3 minutes on 2 cores: a subprocess with 8 host devices compiles every phase
def test_p_on_eight_devices_matches_one_device(tmp_path):
  eight = run_on_eight_devices(tmp_path, '4', '8', '1', str(BATCH), '0.32')
  one = run_steps(4, mbstd_shards=8, ada_kimg=0.32)
  assert int(eight['devices']) == 8
  names = [k for k in one if '/' in k] + ['pl_mean', 'w_avg']
  assert_same_training({k: eight[k] for k in names}, {k: one[k] for k in names}, lr=0.0025)
  assert float(eight['augment_p']) == pytest.approx(float(one['augment_p']), abs=1e-6)
  assert float(one['augment_p']) != 0.5  # adjusted twice


##### the loop ####################################################################################

ADA_RUN = dict(augment='ada', augment_p=0.5, ada_interval=3, ada_kimg=1.0)  # checkpoint at step 4: mid-interval


def test_resume_continues_p_and_its_statistics_bit_for_bit(tmp_path):
  straight = tmp_path / 'straight'
  state = train_and_evaluate(tiny_config(**ADA_RUN), straight)
  reference = run_params(straight)
  assert float(state.augment_p) != 0.5 and '.augment_p' in reference and '.ada_stats' in reference
  halves = tmp_path / 'halves'  # the same run stopped before it saved step 8
  shutil.copytree(straight, halves)
  shutil.rmtree(halves / 'checkpoints' / '8')
  assert Checkpointer(halves).all_steps() == [4]
  assert float(jax.device_get(run_params(halves)['.ada_stats'])[1]) > 0  # saved between two adjustments
  train_and_evaluate(tiny_config(**ADA_RUN), halves)
  assert_identical(run_params(halves), reference)
  records = [json.loads(line) for line in (straight / 'metrics.jsonl').read_text().splitlines()]
  assert all('augment_p' in r and 'rt' in r and -1 <= r['rt'] <= 1 for r in records)
  assert records[-1]['augment_p'] == float(state.augment_p)
  events = b''.join(f.read_bytes() for f in straight.glob('events.out.tfevents.*'))
  assert b'progress/augment_p' in events and b'progress/rt' in events  # TensorBoard scalars


def test_a_run_from_before_augmentation_resumes_without_it(tiny_run_halfway, tmp_path):
  workdir = tmp_path / 'run'
  shutil.copytree(tiny_run_halfway, workdir)  # 4 steps with augment='none' (the demo's)
  config_json = workdir / 'config.json'
  saved = json.loads(config_json.read_text())
  for key in ('augment', 'augment_p', 'augpipe', 'ada_target', 'ada_interval', 'ada_kimg', 'max_images'):
    del saved[key]
  config_json.write_text(json.dumps(saved))  # as written before these settings existed
  with pytest.raises(ConfigMismatchError, match="augment: 'none' in the run, 'ada' now"):
    train_and_evaluate(tiny_config(augment='ada'), workdir)
  state = train_and_evaluate(tiny_config(), workdir)
  assert int(state.step) == 8 and state.augment_p is None
