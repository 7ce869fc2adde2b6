"""Metrics during training: evaluated at every checkpoint, logged, and the best snapshot kept."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import fixture_path
from stylegan2_jax.training.checkpoints import Checkpointer
from stylegan2_jax.cli import main as cli_main
from stylegan2_jax.training.config import validate_config
from stylegan2_jax.training.loop import train_and_evaluate
from train_helpers import tiny_config


@pytest.fixture(scope='module')
def small_dataset(tmp_path_factory):
  """Eight 16x16 grayscale images prepared as a dataset (the real side of FID stays quick)."""
  root = tmp_path_factory.mktemp('metrics_data')
  (root / 'raw').mkdir()
  rng = np.random.RandomState(0)
  for i in range(8):
    Image.fromarray(rng.randint(0, 256, (16, 16), np.uint8)).save(root / 'raw' / f'{i}.png')
  assert cli_main(['dataset', 'images', '--source', str(root / 'raw'), '--resolution', '16', '--channels', '1',
                   '--name', 'eight', '--data-dir', str(root / 'data')]) == 0
  return str(root / 'data' / 'stylegan2_images' / 'eight' / '1.0.0')


def test_metrics_at_every_checkpoint_and_best_kept(tmp_path, small_dataset):
  # PPL only: quick on CPU (FID through the same MetricContext is covered by the evaluate tests).
  config = tiny_config(dataset=small_dataset, metrics='ppl2_wend', metrics_num_gen=8, metrics_batch=8,
                       lpips=str(fixture_path('lpips_vgg.npz')), total_kimg=0.096, keep_checkpoints=1)
  train_and_evaluate(config, tmp_path)
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  metric_records = [r for r in records if 'metric' in r]
  assert [(r['metric'], r['kimg']) for r in metric_records] == [
      ('ppl2_wend', kimg) for kimg in (0.032, 0.064, 0.096)]
  assert all(np.isfinite(list(r['results'].values())).all() for r in metric_records)
  ppl = {r['step']: r['results']['ppl2_wend'] for r in metric_records}
  best = json.loads((tmp_path / 'best.json').read_text())
  assert best['metric'] == 'ppl2_wend' and best['value'] == pytest.approx(min(ppl.values()))
  assert best['step'] == min(ppl, key=ppl.get)
  steps = Checkpointer(tmp_path).all_steps()
  assert steps[-1] == 12 and best['step'] in steps and len(steps) <= 2  # the newest, and the best
  assert cli_main(['generate', '--network', str(tmp_path), '--checkpoint', 'best', '--seeds', '1',
                   '--outdir', str(tmp_path / 'best_images')]) == 0
  assert json.loads((tmp_path / 'best_images' / 'generate_args.json').read_text())['checkpoint'] == 'best'
  assert (tmp_path / 'best_images' / 'seed0001.png').exists()


def test_best_step_survives_later_checkpoints(tmp_path):
  checkpointer = Checkpointer(tmp_path, max_to_keep=1)
  for step in range(1, 5):
    checkpointer.keep_step = 2 if step >= 2 else None
    checkpointer.save(step, {'x': np.full(2, step, np.float32)}, {'step': step})
  assert checkpointer.all_steps() == [2, 4]
  checkpointer.close()


def test_checkpoint_choice_errors(tmp_path, capsys):
  assert cli_main(['generate', '--network', str(fixture_path('network-snapshot-res32-nosrc.pkl')), '--seeds', '1',
                   '--checkpoint', 'best', '--outdir', str(tmp_path)]) == 2
  assert 'applies to training workdirs' in capsys.readouterr().err


@pytest.mark.parametrize('overrides,message', [
    (dict(metrics='fid50k_full,fid1k'), 'unknown metric'),
    (dict(metrics='fid50k_full'), r'--config.inception=PATH'),
    (dict(metrics='pr50k3_full', vgg16='/nowhere/vgg16.pth'), r'--config.vgg16=/nowhere/vgg16.pth: no such file'),
    (dict(metrics='ppl2_wend', lpips='x.npz', metrics_num_gen=-1), r'--config.lpips=x.npz: no such file'),
])
def test_metric_settings_are_checked_before_compiling(overrides, message):
  with pytest.raises(ValueError, match=message):
    validate_config(tiny_config(**overrides), num_devices=1)
