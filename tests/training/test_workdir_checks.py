"""Bad ``--workdir`` and run-length input gets one clear line before anything is read or compiled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from stylegan2_jax.training.checkpoints import Checkpointer
from stylegan2_jax.training.config import validate_config
from stylegan2_jax.training.loop import train_and_evaluate
from train_helpers import subprocess_env, tiny_config

TINY = str(REPO / 'configs' / 'demo.py') + ':tiny'


def train_cli(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
  """``stylegan2-jax train --config configs/demo.py:tiny ARGS`` in a subprocess."""
  cmd = [*prefix, sys.executable, '-m', 'stylegan2_jax.cli', 'train', '--config', TINY, *args]
  return subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess, expected: str) -> None:
  assert proc.returncode == 1, proc.stdout + proc.stderr
  assert 'Traceback' not in proc.stderr, proc.stderr
  assert proc.stderr.strip().splitlines()[-1] == f'stylegan2-jax train: error: {expected}'


def unprivileged() -> tuple[str, ...]:
  """A command prefix under which permission bits bind (root ignores them): none, or a user namespace as uid 1000."""
  if os.geteuid() != 0:
    return ()
  prefix = ('unshare', '--user', '--map-user=1000')
  if shutil.which('unshare') is None or subprocess.run([*prefix, 'true'], capture_output=True).returncode:
    pytest.skip('running as root, where permission bits do not bind, and no user namespace to drop that')
  return prefix


def test_workdir_that_is_a_file(tmp_path):
  path = tmp_path / 'run.txt'
  path.write_text('notes')
  with pytest.raises(ValueError, match='is a file, not a directory'):
    train_and_evaluate(tiny_config(), path)
  assert_one_line_error(train_cli('--workdir', str(path)), f'--workdir {path} is a file, not a directory')
  assert path.read_text() == 'notes'


def test_read_only_workdir_is_refused_before_the_dataset_is_read(tmp_path):
  workdir = tmp_path / 'run'
  workdir.mkdir()
  workdir.chmod(0o555)
  try:
    # An unknown dataset too: the workdir is checked first, before any dataset work or compiling.
    proc = train_cli('--workdir', str(workdir), '--config.dataset=no_such_dataset', prefix=unprivileged())
  finally:
    workdir.chmod(0o755)
  assert_one_line_error(proc, f'--workdir {workdir} cannot be written (Permission denied)')
  assert not list(workdir.iterdir())


def test_workdir_under_a_file(tmp_path):
  (tmp_path / 'file').write_text('')
  with pytest.raises(ValueError, match=r'--workdir .*file/run cannot be written \(Not a directory\)'):
    train_and_evaluate(tiny_config(), tmp_path / 'file' / 'run')


@pytest.mark.parametrize('total_kimg', [0.0005, 0.004, 0.0079])
def test_total_kimg_shorter_than_one_step_is_refused(total_kimg):
  message = (rf'--config.total_kimg={total_kimg} is less than one step of --config.batch_size=8 images '
             r'\(0.008 kimg\)')
  with pytest.raises(ValueError, match=message):
    validate_config(tiny_config(total_kimg=total_kimg), num_devices=1)


def test_total_kimg_shorter_than_one_step_on_the_command_line(tmp_path):
  proc = train_cli('--workdir', str(tmp_path / 'run'), '--config.total_kimg=0.0005')
  assert_one_line_error(proc, '--config.total_kimg=0.0005 is less than one step of --config.batch_size=8 images '
                              '(0.008 kimg)')
  assert not (tmp_path / 'run').exists()


def test_resuming_a_finished_run_with_a_shorter_total_just_finishes(tiny_run_halfway, tmp_path, capsys):
  workdir = tmp_path / 'run'
  shutil.copytree(tiny_run_halfway, workdir)  # 4 steps (total_kimg=0.032)
  capsys.readouterr()
  train_and_evaluate(tiny_config(total_kimg=0.016), workdir)  # already past 2 steps: nothing to do
  out = capsys.readouterr().out
  assert 'resuming from the checkpoint at step 4' in out
  assert 'reached --config.total_kimg=0.016' in out
  assert Checkpointer(workdir).all_steps() == [4]
