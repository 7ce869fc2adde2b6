"""``stylegan2-jax evaluate`` end to end: an official pickle against a prepared folder, JSON lines out."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from conftest import fixture_path
from stylegan2_jax.cli import main as cli_main

SNAPSHOT = 'network-snapshot-res32-nosrc.pkl'  # G_ema: 32x32 RGB, unconditional


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
  root = tmp_path_factory.mktemp('evaluate')
  rng = np.random.RandomState(0)
  (root / 'raw').mkdir()
  for i in range(6):
    Image.fromarray(rng.randint(0, 256, (32, 32, 3), np.uint8)).save(root / 'raw' / f'{i}.png')
  assert cli_main(['dataset', 'images', '--source', str(root / 'raw'), '--resolution', '32', '--name', 'six',
                   '--data-dir', str(root / 'data')]) == 0
  return root / 'data' / 'stylegan2_images' / 'six' / '1.0.0'


def test_evaluate_writes_json_lines(tmp_path, dataset, capsys):
  capsys.readouterr()
  args = ['evaluate', '--network', str(fixture_path(SNAPSHOT)), '--data', str(dataset),
          '--metrics', 'fid50k_full,ppl2_wend', '--inception', str(fixture_path('inception_fid.npz')),
          '--lpips', str(fixture_path('lpips_vgg.npz')), '--num-gen', '6', '--batch-size', '4',
          '--cache-dir', str(tmp_path / 'cache'), '--out', str(tmp_path / 'metrics.jsonl')]
  assert cli_main(args) == 0
  printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{')]
  written = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  assert [r['metric'] for r in printed] == ['fid50k_full', 'ppl2_wend'] and written == printed
  assert printed[0]['num_gen'] == 6 and printed[0]['network'].endswith(SNAPSHOT)
  assert np.isfinite(printed[0]['results']['fid50k_full']) and printed[0]['results']['fid50k_full'] > 0
  assert printed[1]['results']['ppl2_wend'] > 0
  assert len(list((tmp_path / 'cache').glob('real-inception_pool3-6-*.npz'))) == 1  # real statistics cached


@pytest.mark.parametrize('extra,message', [
    (['--metrics', 'pr50k3_full'], r'vgg16-397923af\.pth.*--vgg16'),
    (['--metrics', 'fid50k_full,fid1k'], 'unknown metric'),
    (['--num-gen', '0'], '--num-gen must be positive'),
])
def test_evaluate_errors_name_the_fix(dataset, capsys, extra, message):
  args = ['evaluate', '--network', str(fixture_path(SNAPSHOT)), '--data', str(dataset), *extra]
  assert cli_main(args) == 2
  assert re.search(message, capsys.readouterr().err)


def test_evaluate_needs_data_for_a_pickle(capsys):
  assert cli_main(['evaluate', '--network', str(fixture_path(SNAPSHOT))]) == 2
  assert '--data' in capsys.readouterr().err
