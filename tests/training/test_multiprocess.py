"""Multi-host: two processes joined by ``jax.distributed`` on 127.0.0.1 train exactly like one process."""

from __future__ import annotations

import socket
import subprocess
import sys

from conftest import REPO
from stylegan2_jax.train import train_and_evaluate
from train_helpers import assert_same_training, run_params, subprocess_env, tiny_config


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_two_processes_match_one_process(tmp_path):
  workdir = tmp_path / 'two'
  port = free_port()
  procs = []
  for pid in range(2):
    cmd = [sys.executable, '-m', 'stylegan2_jax.main', '--config', str(REPO / 'configs' / 'demo.py') + ':tiny',
           '--workdir', str(workdir), '--config.mbstd_shards=2', f'--coordinator_address=127.0.0.1:{port}',
           '--num_processes=2', f'--process_id={pid}']
    log = open(tmp_path / f'process{pid}.log', 'w')
    procs.append(subprocess.Popen(cmd, env=subprocess_env(XLA_FLAGS='--xla_force_host_platform_device_count=1'),
                                  cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT))
  try:
    for proc in procs:
      proc.wait(timeout=600)
  finally:  # only a timeout or an error here leaves a process to kill; both must finish on their own
    for proc in procs:
      if proc.poll() is None:
        proc.kill()
  for pid, proc in enumerate(procs):
    assert proc.returncode == 0, (tmp_path / f'process{pid}.log').read_text()[-5000:]
  logs = [(tmp_path / f'process{pid}.log').read_text() for pid in range(2)]
  assert '2 devices, 2 processes' in logs[0]
  assert 'tick' not in logs[1]  # only process 0 reports
  two = run_params(workdir)

  one_dir = tmp_path / 'one'
  train_and_evaluate(tiny_config(mbstd_shards=2), one_dir)
  one = run_params(one_dir)
  assert int(two['.step']) == 8
  assert_same_training(two, one, lr=0.0025)
