"""Sweeps: sweep files expand into named runs, launch/sweep.py runs them, ``summarize`` tables their metrics."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from conftest import REPO, fixture_path
from configs import ablations
from stylegan2_jax.cli import main as cli_main
from stylegan2_jax.summarize import format_table, summary_table
from stylegan2_jax.sweeps import load_sweep
from train_helpers import subprocess_env


def test_paper_sweeps_expand_into_loadable_configs():
  table1 = load_sweep(REPO / 'configs' / 'sweeps' / 'table1.py')
  assert [r.name for r in table1.runs][:3] == ['config-B_dataset-ffhq', 'config-B_dataset-lsun_car',
                                               'config-C_dataset-ffhq']
  assert len(table1.runs) == 10 and table1.layout['rows'] == 'config'
  grid = load_sweep(REPO / 'configs' / 'sweeps' / 'architectures.py')
  assert len({(r.settings['G'], r.settings['D']) for r in grid.runs}) == 9
  for run in table1.runs + grid.runs:
    config = ablations.get_config(run.config.split(':', 1)[1])
    assert config.dataset == run.settings['dataset']
  e_resnet_skip = next(r for r in grid.runs if r.settings['G'] == 'resnet' and r.settings['D'] == 'skip')
  config = ablations.get_config(e_resnet_skip.config.split(':', 1)[1])
  assert (config.G.synthesis_kwargs.architecture, config.D.architecture) == ('resnet', 'skip')
  flags = e_resnet_skip.trainer_flags(REPO / 'runs')
  assert flags[:2] == ['--config', 'configs/ablations.py:config=E,dataset=ffhq,G=resnet,D=skip']
  assert '--config.metrics=fid50k_full' in flags


@pytest.mark.parametrize('text, error', [
    ("ARGS = {}", 'define CONFIG'),
    ("CONFIG = 'c.py:x'\nARGS = {'a': [1]}", 'carries an argument'),
    ("CONFIG = 'c.py'\nGRID = {'seed': 3}", r"GRID\['seed'\] must be a non-empty list"),
    ("CONFIG = 'c.py'\nGRID = {'seed': [1]}\nLAYOUT = {'rows': 'lr'}", "rows='lr' is not a key"),
    ("CONFIG = 'c.py'\nGRID = {'a': ['x y', 'x-y']}", 'both named'),
])
def test_bad_sweep_files_are_refused(tmp_path, text, error):
  path = tmp_path / 'sweep.py'
  path.write_text(text)
  with pytest.raises(ValueError, match=error):
    load_sweep(path)


RUNS = [dict(name=f'{c}_{d}', settings=dict(config=c, dataset=d), kimg=10.0, total_kimg=10.0,
             results=dict(fid=fid, ppl=ppl)) for c, d, fid, ppl in
        [('B', 'ffhq', 3.5, 145.0), ('B', 'car', 3.3, 924.0), ('F', 'ffhq', 2.84, 145.5)]]


def test_summary_laid_out_as_the_paper():
  header, body = summary_table(RUNS, rows='config', cols='dataset', metrics=['fid', 'ppl'])
  assert header == ['config', 'ffhq fid', 'ffhq ppl', 'car fid', 'car ppl']
  assert body == [['B', '3.5', '145', '3.3', '924'], ['F', '2.84', '145.5', '-', '-']]
  text = format_table(header, body)
  assert text.splitlines()[0] == '| config | ffhq fid | ffhq ppl | car fid | car ppl |'
  header, body = summary_table(RUNS[:1] + [dict(RUNS[1], kimg=4.0, results={})])
  assert header == ['run', 'config', 'dataset', 'kimg', 'fid', 'ppl']
  assert body[1] == ['B_car', 'B', 'car', '4 (running)', '-', '-']
  assert list(csv.reader(io.StringIO(format_table(header, body, 'csv'))))[0] == header


def test_tiny_sweep_runs_and_summarizes(tmp_path, capsys):
  sweep_file = tmp_path / 'tiny_sweep.py'
  sweep_file.write_text(f'''
CONFIG = {str(REPO / "configs" / "demo.py") + ":tiny"!r}
GRID = {{'seed': [0, 1]}}
OVERRIDES = {{'total_kimg': 0.016, 'metrics': 'ppl2_wend', 'metrics_num_gen': 8, 'metrics_batch': 8,
             'lpips': {str(fixture_path("lpips_vgg.npz"))!r}}}
''')
  root = tmp_path / 'sweep'
  proc = subprocess.run([sys.executable, str(REPO / 'launch' / 'sweep.py'), str(sweep_file), '--root', str(root)],
                        env=subprocess_env(), capture_output=True, text=True, timeout=900)
  assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
  assert '2 of 2 runs succeeded' in proc.stdout
  assert [r['name'] for r in json.loads((root / 'sweep.json').read_text())['runs']] == ['seed-0', 'seed-1']

  assert cli_main(['summarize', str(root), '--out', str(tmp_path / 'summary.csv')]) == 0
  rows = list(csv.reader((tmp_path / 'summary.csv').read_text().splitlines()))
  assert rows[0] == ['run', 'seed', 'kimg', 'ppl2_wend']
  assert [r[:3] for r in rows[1:]] == [['seed-0', '0', '0.016'], ['seed-1', '1', '0.016']]
  ppl = [float(r[3]) for r in rows[1:]]
  assert all(p > 0 for p in ppl) and ppl[0] != ppl[1]  # two different runs, each measured
  capsys.readouterr()
  assert cli_main(['summarize', str(root)]) == 0
  assert '| seed-0 | 0 | 0.016 |' in capsys.readouterr().out  # Markdown by default
  assert cli_main(['summarize', str(tmp_path / 'nowhere')]) == 2
