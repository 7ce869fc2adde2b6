"""The local multi-process launcher runs the real training loop as several jax.distributed processes.

2 processes x 4 CPU devices train exactly like 1 process x 8 devices, a checkpoint written by either
resumes in the other, only process 0 writes logs and images, and a process that fails ends the job.
"""

from __future__ import annotations

import io
import pathlib
import subprocess
import sys
import time

import pytest

from conftest import REPO
from train_helpers import assert_same_training, local_launcher, run_params, subprocess_env

LAUNCHER = REPO / 'launch' / 'local.py'
TINY = str(REPO / 'configs' / 'demo.py') + ':tiny'


def launcher_cmd(processes: int, cpu_devices: int, workdir, *overrides: str) -> list[str]:
  return [sys.executable, str(LAUNCHER), '--processes', str(processes), '--cpu-devices', str(cpu_devices), '--',
          '--config', TINY, '--workdir', str(workdir), '--config.batch_size=16', *overrides]


def launch(processes: int, cpu_devices: int, workdir, *overrides: str, **env) -> str:
  """Runs the launcher to completion and returns its output (every process's lines, prefixed)."""
  proc = subprocess.run(launcher_cmd(processes, cpu_devices, workdir, *overrides), env=subprocess_env(**env),
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
  return proc.stdout


@pytest.mark.slow  # about 2 minutes on 2 cores: 3 multi-process runs and 1 single-process run of the trainer
def test_two_by_four_matches_one_by_eight_and_checkpoints_resume_across(tmp_path):
  audit = tmp_path / 'writes.txt'
  a, b = tmp_path / 'a', tmp_path / 'b'
  # Batch 16 (8 devices, path-length batch 8): 4 steps, a checkpoint every 2.
  # a: 2 steps as 2 processes x 4 devices (every Python-level write under the workdir recorded), 2 more as 1 x 8.
  out_a1 = launch(2, 4, a, '--config.total_kimg=0.032', PYTHONPATH=f'{REPO / "tests" / "training" / "audit_writes"}:{REPO}',
                  AUDIT_WRITES_UNDER=str(a), AUDIT_WRITES_TO=str(audit))
  a2 = run_params(a)
  out_a2 = launch(1, 8, a)
  # b: the other way round.
  launch(1, 8, b, '--config.total_kimg=0.032')
  b2 = run_params(b)
  out_b2 = launch(2, 4, b)

  assert '8 devices, 2 processes' in out_a1
  assert 'resuming from the checkpoint at step 2' in out_a2 and 'resuming from the checkpoint at step 2' in out_b2
  assert int(a2['.step']) == 2 and int(run_params(a)['.step']) == 4
  assert_same_training(a2, b2, lr=0.0025)                          # 2 x 4 == 1 x 8
  assert_same_training(run_params(a), run_params(b), lr=0.0025)   # resumed across process counts, both ways

  for out in (out_a1, out_b2):  # only process 0 reports
    assert any(line.startswith('[0] tick') for line in out.splitlines())
    assert not any(line.startswith('[1] ') and ('tick' in line or 'saved' in line) for line in out.splitlines())
  writes = [line.split(' ', 2) for line in audit.read_text().splitlines()]
  by_process = {pid for pid, _, _ in writes}
  assert '0' in by_process  # the audit works: process 0 wrote its logs, images and config
  assert any(path.endswith('.png') for pid, _, path in writes if pid == '0')
  others = [(event, path) for pid, event, path in writes if pid != '0' and '/checkpoints' not in path]
  assert not others, f'process 1 wrote outside the checkpoints: {others[:5]}'


# Stand-ins for the trainer: process 1 fails after a moment, process 0 would run for a minute and ignores SIGTERM.
FAILING_JOB = """
import signal, sys, time
index = int([a for a in sys.argv if a.startswith('--process_id=')][0].split('=')[1])
if index == 1:
  time.sleep(0.5)
  print('process 1 gives up', flush=True)
  sys.exit(3)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print('process 0 working', flush=True)
time.sleep(60)
"""


def test_a_failing_process_stops_the_others_and_sets_the_exit_status():
  launcher, out = local_launcher(), io.StringIO()
  start = time.time()
  code = launcher.launch(2, ['--flag'], grace=1.0, out=out, program=(sys.executable, '-c', FAILING_JOB))
  assert code == 3
  assert time.time() - start < 20  # not the 60 s process 0 wanted: killed after the grace period
  lines = out.getvalue().splitlines()
  assert '[1] process 1 gives up' in lines and '[0] process 0 working' in lines
  assert any(line.startswith('launch: process 1 exited with status 3; stopping the other 1') for line in lines)
  pids = [int(line.split()[7]) for line in lines if ' is pid ' in line]
  assert len(pids) == 2 and all(not pathlib.Path(f'/proc/{pid}').exists() for pid in pids)


def test_launcher_refuses_a_command_line_without_trainer_flags(capsys):
  launcher = local_launcher()
  with pytest.raises(SystemExit):
    launcher.main(['--processes', '2'])
  assert 'give the trainer flags after --' in capsys.readouterr().err
