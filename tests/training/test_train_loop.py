"""The training loop as a user meets it: what a run writes, bad input, divergence, init_from, generate from a run."""

from __future__ import annotations

import json
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from stylegan2_jax import cli
from stylegan2_jax.training.checkpoints import Checkpointer
from stylegan2_jax.loading import load_networks
from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.interop.state_dict import to_state_dict
from stylegan2_jax.interop.torch_export import write_torch_export
from stylegan2_jax.networks.config import init_discriminator, init_generator
from stylegan2_jax.training.build import build_networks
from stylegan2_jax.training.config import validate_config
from stylegan2_jax.training.loop import ConfigMismatchError, TrainingDivergedError, train_and_evaluate
from stylegan2_jax.training.runs import load_run
from stylegan2_jax.training.steps import TrainSteps
from conftest import REPO
from train_helpers import run_params, subprocess_env, tiny_config


@pytest.fixture
def finished_run(tiny_run):
  """The tiny config trained for 8 steps (shared by the training tests: read only)."""
  return tiny_run[0]


def test_run_writes_logs_images_and_checkpoints(finished_run):
  records = [json.loads(line) for line in (finished_run / 'metrics.jsonl').read_text().splitlines()]
  assert [r['tick'] for r in records] == [1, 2, 3, 4]
  for key in ('kimg', 'sec_per_kimg', 'img_per_sec', 'pl_mean', 'sec_to_checkpoint', 'Gmain/loss_G', 'Dmain/loss_D',
              'Dmain/scores_real', 'Dmain/scores_fake'):
    assert all(np.isfinite(r[key]) for r in records), key
  assert any('Dreg/loss_Dr1' in r for r in records) and any('Greg/loss_Gpl' in r for r in records)
  assert records[-1]['kimg'] == pytest.approx(0.064)
  assert list(finished_run.glob('events.out.tfevents.*'))
  grids = sorted(finished_run.glob('samples_*.png'))
  assert [p.name for p in grids] == ['samples_000000032.png', 'samples_000000064.png']
  grid = np.asarray(Image.open(grids[-1]))
  assert grid.shape == (2 * 16, 4 * 16)  # grid_rows x grid_cols grayscale digits
  assert Checkpointer(finished_run).all_steps() == [4, 8]
  assert json.loads((finished_run / 'networks.json').read_text())['G']['img_channels'] == 1
  config = json.loads((finished_run / 'config.json').read_text())  # the resolution once, nothing data-derived
  assert config['resolution'] == 16
  assert not {'img_resolution', 'img_channels', 'c_dim'} & (set(config['G']) | set(config['D']))


def test_generate_from_a_workdir(finished_run, tmp_path):
  assert cli.main(['generate', '--network', str(finished_run), '--seeds', '0-2', '--outdir', str(tmp_path)]) == 0
  images = [np.asarray(Image.open(tmp_path / f'seed{s:04d}.png')) for s in range(3)]
  assert images[0].shape == (16, 16) and not np.array_equal(images[0], images[1])


def test_loading_a_workdir_restores_only_the_networks_asked_for(finished_run, monkeypatch):
  state, _, _, _ = load_run(finished_run)
  def whole_state_restore(*args, **kwargs):
    raise AssertionError('restored the whole training state (optimizers included) to load a network')
  monkeypatch.setattr(Checkpointer, 'restore', whole_state_restore)
  nets = load_networks(finished_run, keys=('G_ema',))
  assert list(nets) == ['G_ema']
  for ours, theirs in zip(jax.tree.leaves(nets['G_ema'].variables), jax.tree.leaves(state.G_ema)):
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
  both = load_networks(finished_run, keys=('G', 'D'))
  for ours, theirs in zip(jax.tree.leaves(both['D'].variables), jax.tree.leaves(state.D)):
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_init_from_a_workdir_copies_the_weights(finished_run, tmp_path):
  train_and_evaluate(tiny_config(init_from=str(finished_run), total_kimg=0.008), tmp_path, load_networks)
  before, after = run_params(finished_run), run_params(tmp_path)
  assert int(after['.step']) == 1
  name = ".G['params']['mapping']['fc0']['weight']"
  assert np.abs(after[name] - before[name]).max() < 0.05  # one Adam step away from the source, not a fresh init
  assert not np.array_equal(after[name], before[name])


def test_init_from_a_pytorch_export_with_frozen_d_layers(tmp_path):
  """Transfer learning from another format: weights from an export directory, the first 5 D layers frozen."""
  config = tiny_config(total_kimg=0.016)
  config.D.block_kwargs.freeze_layers = 5
  G, D = build_networks(config, img_channels=1)
  source = {'G': LoadedNetwork(G, init_generator(G, jax.random.key(7)), {}, 'Generator'),
            'D': LoadedNetwork(D, init_discriminator(D, jax.random.key(8)), {}, 'Discriminator')}
  source['G_ema'] = source['G']
  write_torch_export(source, tmp_path / 'export', pt=False)
  config.init_from = str(tmp_path / 'export')
  train_and_evaluate(config, tmp_path / 'run', load_networks)
  after = run_params(tmp_path / 'run')
  assert int(after['.step']) == 2
  frozen = ['b16.fromrgb', 'b16.conv0', 'b16.conv1', 'b16.skip', 'b8.conv0']  # the official layer order
  assert D.frozen_layers() == frozen
  d_source = to_state_dict(source['D'].variables)
  for name, value in d_source.items():
    trained = after[".D['params']" + ''.join(f"['{p}']" for p in name.split('.'))]
    if name.rsplit('.', 1)[0] in frozen:
      assert np.array_equal(trained, value), name  # frozen: exactly the source weights
    elif name.endswith('weight'):
      assert not np.array_equal(trained, value), name  # trained: moved away from the source
  g_name = ".G['params']['mapping']['fc0']['weight']"
  assert np.abs(after[g_name] - np.asarray(source['G'].variables['params']['mapping']['fc0']['weight'])).max() < 0.05


@pytest.mark.parametrize('overrides,message', [
    (dict(resolution=24), 'power of two'),
    (dict(batch_size=6), 'minibatch-stddev'),
    (dict(batch_size=0), 'positive multiple'),
    (dict(total_kimg=0.0), 'total_kimg'),
    (dict(r1_gamma=-1.0), r'--config.r1_gamma=-1.0: must be >= 0'),
    (dict(style_mixing_prob=1.5), r'--config.style_mixing_prob=1.5: must be in \[0, 1\]'),
    (dict(G_lr=0.0), r'--config.G_lr=0.0: must be positive'),
    (dict(D_reg_interval=0), r'--config.D_reg_interval=0: must be None'),
])
def test_bad_config_fails_before_compiling(overrides, message):
  with pytest.raises(ValueError, match=message):
    validate_config(tiny_config(**overrides), num_devices=1)


@pytest.mark.parametrize('key,value,message', [
    ('G.synthesis_kwargs.architecture', 'unet', r"--config.G.synthesis_kwargs.architecture='unet': must be orig or skip"),
    ('D.architecture', 'Resnet', r"--config.D.architecture='Resnet'"),
    ('D.channel_base', -4, r'--config.D.channel_base=-4: must be positive'),
    ('G.synthesis_kwargs.fp16_dtype', 'half', r"fp16_dtype='half': must be 'float16' or 'bfloat16'"),
])
def test_bad_network_setting_names_the_key(key, value, message):
  config = tiny_config()
  *parents, leaf = key.split('.')
  target = config
  for part in parents:
    target = target[part]
  target[leaf] = value
  with pytest.raises(ValueError, match=message):
    validate_config(config, num_devices=1)


def test_batch_must_split_over_devices():
  with pytest.raises(ValueError, match='8 devices'):
    validate_config(tiny_config(batch_size=12), num_devices=8)


def test_unknown_dataset_is_named(tmp_path):
  with pytest.raises(ValueError, match="unknown dataset 'ffhq_typo'.*demo_mnist"):
    train_and_evaluate(tiny_config(dataset='ffhq_typo'), tmp_path)


def test_workdir_of_another_config_is_refused(finished_run):
  with pytest.raises(ConfigMismatchError, match="style_mixing_prob: 0.9 in the run, 0.5 now"):
    train_and_evaluate(tiny_config(style_mixing_prob=0.5), finished_run)


def test_cli_reports_bad_input_without_traceback(tmp_path):
  cmd = [sys.executable, '-m', 'stylegan2_jax.cli', 'train', '--config', str(REPO / 'configs' / 'demo.py') + ':tiny',
         '--workdir', str(tmp_path), '--config.resolution=24']
  proc = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300)
  assert proc.returncode == 1
  assert proc.stderr.strip().splitlines()[-1] == ('stylegan2-jax train: error: --config.resolution must be a power '
                                                  'of two >= 4, got 24')
  assert 'Traceback' not in proc.stderr


def test_nan_loss_stops_the_run_keeping_the_last_good_checkpoint(tmp_path, monkeypatch):
  run_phase = TrainSteps.run_phase

  def diverging(self, phase, state, *args):
    state, metrics = run_phase(self, phase, state, *args)
    if phase == 'Gmain' and int(state.step) >= 5:
      metrics = dict(metrics, loss_G=metrics['loss_G'] * np.nan)
    return state, metrics

  monkeypatch.setattr(TrainSteps, 'run_phase', diverging)
  with pytest.raises(TrainingDivergedError, match='non-finite Gmain/loss_G.*last good checkpoint'):
    train_and_evaluate(tiny_config(), tmp_path)
  assert Checkpointer(tmp_path).all_steps() == [4]


def test_bf16_training_with_accumulation_keeps_float32_state(tmp_path):
  config = tiny_config(total_kimg=0.016, batch_gpu=4)  # batch 8 in 2 accumulation rounds
  for net in (config.G.synthesis_kwargs, config.D):
    net.update(num_fp16_res=2, fp16_dtype='bfloat16', conv_clamp=256.0)
  train_and_evaluate(config, tmp_path)
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  assert records and all(np.isfinite(v) for r in records for v in r.values())
  state = run_params(tmp_path)
  floats = {k: v.dtype for k, v in state.items() if v.dtype.kind == 'f'}
  assert any('G_opt' in k for k in floats) and any('D_opt' in k for k in floats)
  # bf16 is compute only: parameters, G_ema, Adam moments and pl_mean stay float32
  assert set(floats.values()) == {np.dtype(np.float32)}, {k: v for k, v in floats.items() if v != np.float32}
