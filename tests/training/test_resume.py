"""Exact resume: a run cut in half (by a restart, SIGKILL or SIGTERM) ends bit-identical to a straight run.

Checkpoints are written in the background (``background_writes``) and batches
prefetched to the devices (``device_prefetch``), as in every run by default.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from orbax.checkpoint._src.path import atomicity

from conftest import REPO
from stylegan2_jax.training.checkpoints import Checkpointer
from stylegan2_jax.training.loop import train_and_evaluate
from stylegan2_jax.training.steps import TrainSteps
from train_helpers import run_params, subprocess_env, tiny_config


@pytest.fixture
def straight(tiny_run):
  """8 steps in one go: the reference every interrupted run must reproduce bit for bit (shared, read only)."""
  return tiny_run


@pytest.fixture
def halfway(tiny_run_halfway, tmp_path):
  """A copy of a run that stopped after 4 steps (its checkpoint saved at the end), to resume."""
  workdir = tmp_path / 'halfway'
  shutil.copytree(tiny_run_halfway, workdir)
  return workdir


def assert_identical(params: dict, reference: dict):
  assert params.keys() == reference.keys()
  differ = [k for k in reference if not np.array_equal(params[k], reference[k])]
  assert not differ, f'{len(differ)} arrays differ, e.g. {differ[:3]}'


def test_restart_resumes_bit_identical(straight, halfway):
  _, reference = straight
  assert Checkpointer(halfway).all_steps() == [4]  # 4 steps, then the process "ended"
  assert len((halfway / 'metrics.jsonl').read_text().splitlines()) == 2
  train_and_evaluate(tiny_config(), halfway)  # the same command again
  assert Checkpointer(halfway).latest_step() == 8
  assert_identical(run_params(halfway), reference)
  log = (halfway / 'metrics.jsonl').read_text().splitlines()
  assert len(log) == 4  # one line per tick, none repeated or lost across the restart


def test_half_written_checkpoint_is_never_loaded(straight, halfway):
  _, reference = straight
  ckpts = halfway / 'checkpoints'
  # What a kill during the save of step 6 leaves behind: Orbax's temporary directory, incomplete.
  partial = ckpts / '6.orbax-checkpoint-tmp-1234567890'
  shutil.copytree(ckpts / '4', partial)
  for f in sorted(p for p in partial.rglob('*') if p.is_file())[:3]:
    f.write_bytes(b'\0garbage')
  assert Checkpointer(halfway).latest_step() == 4
  train_and_evaluate(tiny_config(), halfway)
  assert_identical(run_params(halfway), reference)
  assert not partial.exists()  # cleaned up on the restart


def test_sigkill_during_a_save_then_resume_bit_identical(straight, tmp_path):
  _, reference = straight
  workdir = tmp_path / 'run'
  cmd = [sys.executable, str(REPO / 'tests' / 'training' / 'killed_training.py'),
         '--config', str(REPO / 'configs' / 'demo.py') + ':tiny', '--workdir', str(workdir)]
  proc = subprocess.run(cmd, env=subprocess_env(), cwd=tmp_path, capture_output=True, text=True, timeout=600)
  assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
  leftovers = [p.name for p in (workdir / 'checkpoints').iterdir()]
  assert '4' in leftovers and '8' not in leftovers, leftovers  # step 8 was cut short
  assert Checkpointer(workdir).latest_step() == 4
  train_and_evaluate(tiny_config(), workdir)
  assert_identical(run_params(workdir), reference)


def test_sigterm_saves_and_resumes_bit_identical(straight, tmp_path, monkeypatch, capsys):
  _, reference = straight
  run_phase = TrainSteps.run_phase

  def terminated_at_step_2(self, phase, state, *args):
    if phase == 'Dmain' and int(state.step) == 2:
      os.kill(os.getpid(), signal.SIGTERM)  # as a scheduler preempting the job would
    return run_phase(self, phase, state, *args)

  monkeypatch.setattr(TrainSteps, 'run_phase', terminated_at_step_2)
  train_and_evaluate(tiny_config(checkpoint_kimg=1000.0), tmp_path)
  assert 'SIGTERM' in capsys.readouterr().out
  assert Checkpointer(tmp_path).all_steps() == [3]  # finished the iteration, saved, returned
  monkeypatch.setattr(TrainSteps, 'run_phase', run_phase)
  train_and_evaluate(tiny_config(checkpoint_kimg=1000.0), tmp_path)
  assert_identical(run_params(tmp_path), reference)


def test_sigkill_while_a_checkpoint_is_written_in_the_background(straight, tmp_path):
  _, reference = straight
  workdir = tmp_path / 'run'
  cmd = [sys.executable, str(REPO / 'tests' / 'training' / 'killed_during_background_write.py'),
         '--config', str(REPO / 'configs' / 'demo.py') + ':tiny', '--workdir', str(workdir),
         '--config.total_kimg=0.096']
  proc = subprocess.run(cmd, env=subprocess_env(), cwd=tmp_path, capture_output=True, text=True, timeout=600)
  assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
  assert 'killed at step 10' in proc.stdout  # two steps after the save of step 8 returned, its write still pending
  assert 'saved checkpoint at step 4' in proc.stdout and 'at step 8' not in proc.stdout
  leftovers = [p.name for p in (workdir / 'checkpoints').iterdir()]
  assert '4' in leftovers and '8' not in leftovers, leftovers
  assert any(name.startswith('8.orbax-checkpoint-tmp') for name in leftovers), leftovers
  assert Checkpointer(workdir).latest_step() == 4  # the earlier checkpoint, intact
  train_and_evaluate(tiny_config(), workdir)
  assert_identical(run_params(workdir), reference)


def test_an_error_while_a_checkpoint_is_written_still_completes_it(straight, tmp_path, monkeypatch, capsys):
  _, reference = straight
  finalize, run_phase = atomicity.AtomicRenameTemporaryPath.finalize, TrainSteps.run_phase
  release, seen = threading.Event(), {}

  async def held_finalize(self, *args, **kwargs):
    if self._final_path.name == '4':  # pylint: disable=protected-access
      await asyncio.to_thread(release.wait, 120)  # the commit of step 4 waits until step 6 has started
    return await finalize(self, *args, **kwargs)

  def failing_at_step_6(self, phase, state, *args):
    if int(state.step) == 6:
      seen['step 4 on disk at step 6'] = (tmp_path / 'checkpoints' / '4').exists()
      release.set()
      raise RuntimeError('a step failed')
    return run_phase(self, phase, state, *args)

  monkeypatch.setattr(atomicity.AtomicRenameTemporaryPath, 'finalize', held_finalize)
  monkeypatch.setattr(TrainSteps, 'run_phase', failing_at_step_6)
  with pytest.raises(RuntimeError, match='a step failed'):
    train_and_evaluate(tiny_config(), tmp_path)
  assert seen == {'step 4 on disk at step 6': False}  # training went on while step 4 was written
  assert 'saved checkpoint at step 4' in capsys.readouterr().out  # the way out waited for the write
  assert Checkpointer(tmp_path).all_steps() == [4]
  left = [t.name for t in threading.enumerate() if t.name.startswith(('device-batches', 'image-writer'))]
  assert not left, left  # the batch reader and the image writer were stopped
  monkeypatch.undo()
  train_and_evaluate(tiny_config(), tmp_path)
  assert_identical(run_params(tmp_path), reference)


def test_resume_with_lower_learning_rates_and_r1_gamma_uses_them(straight, halfway, monkeypatch, capsys):
  """The NaN advice: resume with lower G_lr, D_lr and r1_gamma; the resumed steps train with the new values."""
  _, reference = straight
  workdir, halfway = halfway, run_params(halfway)  # 4 steps, the straight run's first half
  built = []
  init = TrainSteps.__init__

  def recording(self, G, D, G_opt, D_opt, settings, *args, **kwargs):
    built.append(settings)
    init(self, G, D, G_opt, D_opt, settings, *args, **kwargs)

  monkeypatch.setattr(TrainSteps, '__init__', recording)
  config = tiny_config()
  train_and_evaluate(tiny_config(G_lr=config.G_lr * 1e-10, D_lr=config.D_lr * 1e-10, r1_gamma=config.r1_gamma / 4),
                     workdir)
  assert Checkpointer(workdir).latest_step() == 8
  assert [s.r1_gamma for s in built] == [config.r1_gamma / 4]
  saved = json.loads((workdir / 'config.json').read_text())  # says how the run trains now
  assert (saved['G_lr'], saved['D_lr'], saved['r1_gamma']) == (config.G_lr * 1e-10, config.D_lr * 1e-10,
                                                                config.r1_gamma / 4)
  assert 'settings changed since the run was last started' in capsys.readouterr().out
  resumed = run_params(workdir)
  networks = [k for k in reference if k.startswith(('.G[', '.D[')) and "['params']" in k]
  assert networks
  # At the run's own rates the 4 steps move the networks by ~lr; at 1e-10 of them by < 1e-9 (Adam's steps are
  # at most ~10 lr), so the rates of the resumed steps are the new ones, not any baked into the saved state.
  assert max(np.abs(reference[k] - halfway[k]).max() for k in networks) > 1e-4
  for k in networks:
    np.testing.assert_allclose(resumed[k], halfway[k], rtol=0, atol=1e-9, err_msg=k)
