"""``stylegan2-jax train --help`` (and ``--helpshort``, ``--helpfull``, and ``python -m stylegan2_jax.main``) shows the
trainer's usage, flags and where the config fields are documented, not only absl's usage line."""

import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.parametrize('command', [['stylegan2_jax.cli', 'train', '--help'],
                                     ['stylegan2_jax.cli', 'train', '--helpshort'],
                                     ['stylegan2_jax.main', '-h']])
def test_train_help_lists_the_flags_and_the_config_docs(command):
  result = subprocess.run([sys.executable, '-m', *command], capture_output=True, text=True, cwd=REPO, timeout=120)
  assert result.returncode == 0, result.stderr
  out = result.stdout
  assert out.startswith('usage: stylegan2-jax train --config')
  for flag in ('--config:', '--workdir:', '--coordinator_address:', '--num_processes:', '--process_id:'):
    assert flag in out
  assert 'stylegan2_jax/training/config.py' in out and 'configs/' in out
  assert (REPO / 'stylegan2_jax' / 'training' / 'config.py').is_file()
  assert 'Try --helpfull' in out


def test_train_helpfull_shows_the_trainer_usage_then_every_flag():
  # python -m stylegan2_jax.main runs the same function (its -h above shows it gets there)
  result = subprocess.run([sys.executable, '-m', 'stylegan2_jax.cli', 'train', '--helpfull'], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
  assert result.returncode == 0, result.stderr
  out = result.stdout
  assert out.startswith('usage: stylegan2-jax train --config')
  assert 'stylegan2_jax/training/config.py' in out and 'configs/' in out
  for flag in ('--config:', '--workdir:', '--coordinator_address:', '--num_processes:', '--process_id:',
               '--heartbeat_timeout:'):
    assert flag in out
  assert 'stylegan2_jax.commands.train:' in out and 'absl.app:' in out and '--[no]helpfull:' in out
