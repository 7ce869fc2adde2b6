"""The cluster launch scripts: valid shell, the trainer flags they pass exist, and SLURM's runs end to end."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from train_helpers import run_params, subprocess_env

LAUNCH = REPO / 'launch'


def trainer_flags() -> set[str]:
  out = subprocess.run([sys.executable, '-m', 'stylegan2_jax.main', '--helpfull'], env=subprocess_env(),
                       capture_output=True, text=True).stdout
  return set(re.findall(r'--(?:\[no\])?([a-z_]+)[:=]', out))


@pytest.mark.parametrize('script', ['tpu_pod.sh', 'slurm.sbatch'])
def test_scripts_are_valid_bash(script):
  subprocess.run(['bash', '-n', str(LAUNCH / script)], check=True)


def test_tpu_pod_script_runs_the_trainer_on_every_worker():
  env = dict(os.environ, TPU_NAME='pod', ZONE='zone-a', DRY_RUN='1')
  out = subprocess.run([str(LAUNCH / 'tpu_pod.sh'), 'train', '--config', 'configs/ffhq.py:res=256', '--workdir',
                        '/mnt/runs/x'], env=env, capture_output=True, text=True, check=True).stdout
  assert out.startswith('gcloud compute tpus tpu-vm ssh pod --zone=zone-a --worker=all --command=')
  assert 'stylegan2_jax.main\\ --distributed\\ --config\\ configs/ffhq.py:res=256\\ --workdir\\ /mnt/runs/x' in out
  bad = subprocess.run([str(LAUNCH / 'tpu_pod.sh'), 'train'], env=dict(os.environ, ZONE='z'), capture_output=True,
                       text=True)
  assert bad.returncode != 0 and 'set TPU_NAME' in bad.stderr


def test_jobset_manifest_is_consistent():
  manifest = yaml.safe_load((LAUNCH / 'k8s' / 'jobset.yaml').read_text())
  job = manifest['spec']['replicatedJobs'][0]
  spec = job['template']['spec']
  command = spec['template']['spec']['containers'][0]['command']
  flags = dict(arg[2:].split('=', 1) for arg in command if arg.startswith('--'))
  assert int(flags['num_processes']) == spec['parallelism'] == spec['completions']
  assert flags['coordinator_address'].startswith(f'{manifest["metadata"]["name"]}-{job["name"]}-0-0.')
  assert set(flags) <= trainer_flags()


@pytest.mark.slow
def test_slurm_script_trains_as_two_tasks(tmp_path):
  """Runs the sbatch script with a stand-in ``srun`` that starts its tasks on this machine."""
  (tmp_path / 'logs').mkdir()
  env = subprocess_env(PATH=f'{REPO / "tests" / "training" / "fake_slurm"}:{os.environ["PATH"]}',
                       FAKE_SRUN_LOGS=str(tmp_path / 'logs'), SLURM_NTASKS='2', SLURM_JOB_ID=str(os.getpid()),
                       SLURM_SUBMIT_DIR=str(REPO), XLA_FLAGS='--xla_force_host_platform_device_count=1',
                       PYTHON=sys.executable)
  proc = subprocess.run(['bash', str(LAUNCH / 'slurm.sbatch'), '--config', str(REPO / 'configs' / 'demo.py') + ':tiny',
                         '--workdir', str(tmp_path / 'run'), '--config.mbstd_shards=2', '--config.total_kimg=0.016'],
                        env=env, capture_output=True, text=True, timeout=600)
  logs = [(tmp_path / 'logs' / f'task{i}.log').read_text() for i in range(2)]
  assert proc.returncode == 0, logs[0][-3000:] + logs[1][-3000:]
  assert '2 devices, 2 processes' in logs[0]
  assert int(run_params(tmp_path / 'run')['.step']) == 2
