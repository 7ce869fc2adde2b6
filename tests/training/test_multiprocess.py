"""Multi-host without a launcher (as on a cluster): a process that dies makes the others exit, not hang;
a workdir the processes do not share is refused.

That several processes train exactly like one is tested through the local launcher
(``test_launch_local.py``).
"""

from __future__ import annotations

import contextlib
import sys
import time

from conftest import REPO
from process_helpers import started_processes
from train_helpers import local_launcher, subprocess_env


@contextlib.contextmanager
def two_processes(tmp_path, workdirs, *overrides):
  """Two trainer processes joined on 127.0.0.1 (one CPU device each) -> (processes, their log files).

  On exit both are ended and reaped and their logs closed.
  """
  port = local_launcher().free_port()
  logs = [tmp_path / f'process{pid}.log' for pid in range(2)]
  commands = [[sys.executable, '-m', 'stylegan2_jax.main', '--config', str(REPO / 'configs' / 'demo.py') + ':tiny',
               '--workdir', str(workdirs[pid]), '--config.mbstd_shards=2', *overrides,
               f'--coordinator_address=127.0.0.1:{port}', '--num_processes=2', f'--process_id={pid}']
              for pid in range(2)]
  with started_processes(commands, logs, env=subprocess_env(XLA_FLAGS='--xla_force_host_platform_device_count=1'),
                         cwd=tmp_path) as procs:
    yield procs, logs


def test_a_workdir_the_processes_do_not_share_is_refused(tmp_path):
  with two_processes(tmp_path, [tmp_path / 'host0', tmp_path / 'host1']) as (procs, logs):
    codes = [proc.wait(timeout=120) for proc in procs]
  assert codes == [1, 1]
  for log in logs:
    assert 'processes [1] do not see' in log.read_text() and 'every host shares' in log.read_text()


def test_survivor_exits_with_an_error_when_a_process_dies(tmp_path):
  run = tmp_path / 'run'
  with two_processes(tmp_path, [run, run], '--config.total_kimg=10', '--heartbeat_timeout=10') as (procs, logs):
    deadline = time.time() + 300
    while 'new run' not in logs[0].read_text():  # both joined; training starts
      assert time.time() < deadline and procs[0].poll() is None, logs[0].read_text()[-3000:]
      time.sleep(0.5)
    procs[1].kill()
    # Without the heartbeat the survivor would block in its next collective forever; with it, it exits (the
    # generous bound only keeps a hang from stalling the suite: how fast it exits is not what is tested).
    code = procs[0].wait(timeout=600)
  assert code != 0
  assert 'another task died' in logs[0].read_text() or 'unhealthy' in logs[0].read_text()
