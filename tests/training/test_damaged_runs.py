"""Runs that went wrong: a damaged newest checkpoint, ticks logged after the last checkpoint, a divergence.

Each must resume (or load for ``generate``) from the newest intact checkpoint with one
line saying what happened, and end bit-identical to a run that never went wrong.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from conftest import REPO
from stylegan2_jax import cli
from stylegan2_jax.training.checkpoints import Checkpointer
from stylegan2_jax.training.loop import train_and_evaluate
from stylegan2_jax.training.runs import load_run_networks
from train_helpers import run_params, subprocess_env, tiny_config


@pytest.fixture
def straight(tiny_run):
  """8 steps in one go, checkpoints at steps 4 and 8: the run every repaired one must reproduce (shared: only
  copies of it are changed)."""
  return tiny_run


def copy_run(straight, tmp_path):
  workdir = tmp_path / 'run'
  shutil.copytree(straight[0], workdir)
  return workdir


def truncate_data(checkpoint):
  """Cuts every array-data file of a checkpoint in half, as a copy or a disk cut short would."""
  files = [p for p in (checkpoint / 'state').rglob('*') if p.is_file() and p.parent.name == 'd']
  assert files
  for f in files:
    f.write_bytes(f.read_bytes()[:f.stat().st_size // 2])


def delete_meta(checkpoint):
  """Removes the JSON item (data position and counters) the trainer needs to resume."""
  (checkpoint / 'meta' / 'metadata').unlink()


def assert_identical(params: dict, reference: dict):
  assert params.keys() == reference.keys()
  differ = [k for k in reference if not np.array_equal(params[k], reference[k])]
  assert not differ, f'{len(differ)} arrays differ, e.g. {differ[:3]}'


def logged_steps(workdir) -> list[int]:
  return [json.loads(line)['step'] for line in (workdir / 'metrics.jsonl').read_text().splitlines()]


def g_ema_leaves(workdir, checkpoint='latest'):
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(
      load_run_networks(workdir, checkpoint, keys=('G_ema',))['G_ema'].variables))]


@pytest.mark.parametrize('damage', [truncate_data, delete_meta])
def test_training_resumes_from_the_newest_intact_checkpoint(straight, tmp_path, capsys, damage):
  workdir = copy_run(straight, tmp_path)
  damage(workdir / 'checkpoints' / '8')
  capsys.readouterr()
  train_and_evaluate(tiny_config(), workdir)
  out = capsys.readouterr().out
  aside = workdir / 'damaged_checkpoints' / '8'
  assert f'checkpoint {workdir / "checkpoints" / "8"} is damaged' in out
  assert f'moved it to {aside}' in out
  assert 'resuming from the checkpoint at step 4' in out
  assert aside.is_dir()  # kept for inspection, out of Orbax's sight
  assert Checkpointer(workdir).all_steps() == [4, 8]  # step 8 saved again in its place
  assert_identical(run_params(workdir), straight[1])
  assert logged_steps(workdir) == [2, 4, 6, 8]
  # The next start finds the new step 8 intact and has nothing left to do.
  train_and_evaluate(tiny_config(), workdir)
  assert 'damaged' not in capsys.readouterr().out


def test_generate_loads_the_newest_intact_checkpoint(straight, tmp_path, capsys):
  workdir = copy_run(straight, tmp_path)
  truncate_data(workdir / 'checkpoints' / '8')
  listing = sorted(p.relative_to(workdir) for p in workdir.rglob('*'))
  capsys.readouterr()
  assert cli.main(['generate', '--network', str(workdir), '--seeds', '0', '--outdir', str(tmp_path / 'out')]) == 0
  err = capsys.readouterr().err
  assert f'checkpoint {workdir / "checkpoints" / "8"} is damaged' in err and 'loading step 4' in err
  assert (tmp_path / 'out' / 'seed0000.png').exists()
  for ours, theirs in zip(g_ema_leaves(workdir), g_ema_leaves(straight[0], '4')):
    np.testing.assert_array_equal(ours, theirs)
  assert sorted(p.relative_to(workdir) for p in workdir.rglob('*')) == listing  # a reader changes nothing
  # Asked for by number, the damaged one is an error naming it, as is a step the run does not have.
  capsys.readouterr()
  for step, message in (('8', f'checkpoint {workdir / "checkpoints" / "8"} is damaged ('),
                        ('12', f'{workdir} has no checkpoint at step 12 (it has steps 4, 8)')):
    assert cli.main(['generate', '--network', str(workdir), '--checkpoint', step, '--seeds', '0',
                     '--outdir', str(tmp_path / 'out')]) == 2
    assert capsys.readouterr().err.strip().startswith(f'stylegan2-jax generate: error: {message}')


def test_reading_a_run_leaves_a_checkpoint_being_written_alone(straight, tmp_path):
  workdir = copy_run(straight, tmp_path)
  writing = workdir / 'checkpoints' / '12.orbax-checkpoint-tmp-1234567890'  # as the trainer's save in progress
  shutil.copytree(workdir / 'checkpoints' / '8', writing)
  assert cli.main(['generate', '--network', str(workdir), '--seeds', '0', '--outdir', str(tmp_path / 'out')]) == 0
  assert writing.is_dir()


def test_no_intact_checkpoint_is_one_clear_error(straight, tmp_path):
  workdir = copy_run(straight, tmp_path)
  for step in ('4', '8'):
    truncate_data(workdir / 'checkpoints' / step)
  with pytest.raises(ValueError, match=r'no intact checkpoint in .*checkpoints \(steps 8, 4; step 8: '):
    train_and_evaluate(tiny_config(), workdir)
  assert not (workdir / 'damaged_checkpoints').exists()
  cmd = [sys.executable, '-m', 'stylegan2_jax.cli', 'generate', '--network', str(workdir), '--seeds', '0',
         '--outdir', str(tmp_path / 'out')]
  proc = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300)
  assert proc.returncode == 2
  # One line per damaged checkpoint and the error; nothing of the reads Orbax abandoned (pages of TensorStore specs).
  lines = proc.stderr.strip().splitlines()
  assert [line.split(' is damaged')[0] for line in lines[:-1]] == [
      f'warning: checkpoint {workdir / "checkpoints" / step}' for step in ('8', '4')], proc.stderr[:3000]
  assert lines[-1].startswith('stylegan2-jax generate: error: no intact checkpoint in ')


def test_ticks_logged_after_the_last_checkpoint_are_not_repeated(straight, tmp_path):
  workdir = copy_run(straight, tmp_path)
  shutil.rmtree(workdir / 'checkpoints' / '8')  # killed after the ticks of steps 6 and 8, before saving step 8
  assert logged_steps(workdir) == [2, 4, 6, 8]
  with open(workdir / 'metrics.jsonl', 'a') as f:
    f.write('{"tick": 5, "step": 1')  # and in the middle of writing a line
  train_and_evaluate(tiny_config(), workdir)
  assert logged_steps(workdir) == [2, 4, 6, 8]  # one run: the ticks after step 4 were dropped, then logged again
  assert_identical(run_params(workdir), straight[1])


def test_ticks_of_a_run_killed_before_its_first_checkpoint_are_dropped(straight, tmp_path):
  workdir = copy_run(straight, tmp_path)
  shutil.rmtree(workdir / 'checkpoints')
  train_and_evaluate(tiny_config(), workdir)  # starts over
  assert logged_steps(workdir) == [2, 4, 6, 8]


def test_divergence_keeps_the_last_good_checkpoint_loadable_and_resumable(straight, tmp_path, capsys):
  workdir = tmp_path / 'run'
  cmd = [sys.executable, str(REPO / 'tests' / 'training' / 'diverging_training.py'),
         '--config', str(REPO / 'configs' / 'demo.py') + ':tiny', '--workdir', str(workdir)]
  proc = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=600)
  assert proc.returncode == 1, proc.stdout + proc.stderr
  assert 'Traceback' not in proc.stderr
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith('stylegan2-jax train: error: non-finite D at step 8'), last
  assert f'the last good checkpoint (step 4) is kept in {workdir / "checkpoints"}' in last
  assert Checkpointer(workdir).all_steps() == [4]  # step 8 was not saved with NaN in it
  for ours, theirs in zip(g_ema_leaves(workdir), g_ema_leaves(straight[0], '4')):
    np.testing.assert_array_equal(ours, theirs)
  assert cli.main(['generate', '--network', str(workdir), '--seeds', '0', '--outdir', str(tmp_path / 'out')]) == 0
  capsys.readouterr()
  train_and_evaluate(tiny_config(), workdir)  # resume, without the fault
  assert 'resuming from the checkpoint at step 4' in capsys.readouterr().out
  assert_identical(run_params(workdir), straight[1])
  assert logged_steps(workdir) == [2, 4, 6, 8]
