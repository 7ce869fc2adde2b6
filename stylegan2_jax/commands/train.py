"""``stylegan2-jax train`` (or ``python -m stylegan2_jax.main``): ``--config configs/demo.py --workdir runs/demo``.

Flags: ``--config`` (a config file, optionally ``file.py:arg``; override any
field as ``--config.total_kimg=100``) and ``--workdir``. Launched as several
processes (``--coordinator_address`` with ``--num_processes``/``--process_id``,
``--distributed`` on a TPU pod, or a detected SLURM/Open MPI job), it joins
them with ``jax.distributed.initialize()`` first; ``launch/`` has the scripts.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Training config file, FILE.py or FILE.py:ARG (configs/*.py); '
                                          'override any field as --config.KEY=VALUE.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs and samples.')
_COORDINATOR = flags.DEFINE_string('coordinator_address', None, 'host:port of process 0 (multi-process runs).')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Number of processes (multi-process runs).')
_PROCESS_ID = flags.DEFINE_integer('process_id', None, 'This process\'s index (multi-process runs).')
_DISTRIBUTED = flags.DEFINE_bool('distributed', False, 'Join a multi-process run that jax.distributed detects by '
                                  'itself (TPU VM pods, SLURM, Open MPI); SLURM and Open MPI jobs are detected even '
                                  'without this flag.')
_LOCAL_DEVICE_IDS = flags.DEFINE_list('local_device_ids', None, 'The local devices this process drives (e.g. '
                                      '0,1,2,3); default: JAX\'s choice (one GPU per process under SLURM).')
_HEARTBEAT = flags.DEFINE_integer('heartbeat_timeout', 100, 'Seconds without a heartbeat after which a '
                                  'multi-process run treats a process as dead and every process exits.')
flags.mark_flags_as_required(['config', 'workdir'])

def launched_as_cluster() -> bool:
  """True under a multi-process launcher whose cluster ``jax.distributed.initialize()`` detects by itself."""
  env = os.environ
  return (int(env.get('SLURM_NTASKS', '1')) > 1 or int(env.get('OMPI_COMM_WORLD_SIZE', '1')) > 1
          or len(env.get('TPU_WORKER_HOSTNAMES', '').split(',')) > 1 or bool(env.get('JAX_COORDINATOR_ADDRESS')))


def initialize_distributed() -> None:
  """Joins a multi-process run when launched as one (explicit flags or a detected cluster)."""
  import jax
  if not (_COORDINATOR.value or _DISTRIBUTED.value or launched_as_cluster()):
    return
  if 'jax_cpu_collectives_implementation' in jax.config.values:
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')  # cross-process collectives on CPU devices
  local = [int(i) for i in _LOCAL_DEVICE_IDS.value] if _LOCAL_DEVICE_IDS.value else None
  jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value, local_device_ids=local,
                             heartbeat_timeout_seconds=_HEARTBEAT.value)


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # progress goes to stdout; library INFO chatter only on request
  initialize_distributed()
  from stylegan2_jax.loading import load_networks  # pylint: disable=import-outside-toplevel (after initialize())
  from stylegan2_jax.training.loop import TrainingDivergedError, train_and_evaluate  # after initialize()
  try:
    train_and_evaluate(_CONFIG.value, _WORKDIR.value, load_networks)
  except (ValueError, FileNotFoundError, TrainingDivergedError) as e:  # bad input or divergence: say what to do
    raise SystemExit(f'stylegan2-jax train: error: {e}') from None


def add_parser(sub) -> None:
  """Lists ``train`` in ``stylegan2-jax --help``; its arguments are absl flags, parsed by :func:`run`."""
  sub.add_parser('train', help='train: --config FILE --workdir DIR [--config.KEY=VALUE ...] (see --helpshort)')


def _config_file_arg(argv: list[str]) -> str | None:
  for i, arg in enumerate(argv):
    if arg.startswith('--config='):
      return arg.split('=', 1)[1]
    if arg == '--config' and i + 1 < len(argv):
      return argv[i + 1]
  return None


def override_error(argv: list[str]) -> str | None:
  """The one-line error for the first ``--config.KEY=...`` that names no setting of the config file, or None."""
  import runpy  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.training.config import DATA_DERIVED_KEYS, closest_keys  # pylint: disable=import-outside-toplevel
  spec = _config_file_arg(argv)
  if spec is None:
    return None
  path, _, arg = spec.partition(':')
  try:
    config = runpy.run_path(path)['get_config'](*([arg] if arg else []))
  except Exception:  # pylint: disable=broad-except  (the flag parser reports a broken config file itself)
    return None
  for item in argv:
    if not item.startswith('--config.'):
      continue
    key = item[len('--config.'):].split('=', 1)[0]
    node, parts = config, key.split('.')
    for i, part in enumerate(parts):
      if not hasattr(node, 'keys') or part not in node.keys():
        if part in DATA_DERIVED_KEYS and i == 1:
          return (f'--config.{key} is not a setting: the resolution is --config.resolution (for G and D), and the '
                  'channel and label counts come from the dataset')
        close = closest_keys(config, key)
        return (f'--config.{key}: no such setting in {path}' +
                (f'; did you mean {", ".join("--config." + c for c in close)}?' if close else ''))
      node = node[part]
  return None


def _parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with one clear line (not a traceback) for a ``--config.KEY`` the config does not have."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    raise SystemExit(f'stylegan2-jax train: error: {e}\nSee --helpshort for the flags.') from None
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    message = override_error(argv[1:]) or str(e).strip().replace('\n', ' ')
    raise SystemExit(f'stylegan2-jax train: error: {message}') from None


HELP_FLAGS = ('-h', '-?', '--help', '--helpshort', '--help=true', '--helpshort=true')
HELPFULL_FLAGS = ('--helpfull', '--helpfull=true')
USAGE = 'usage: stylegan2-jax train --config FILE.py[:ARG] --workdir DIR [--config.KEY=VALUE ...] [flags]'
CONFIG_HELP = """\
The config fields (every hyperparameter with its default and unit) are documented in
stylegan2_jax/training/config.py (training_config); the config files are in configs/:
demo.py (the README's demo; demo.py:tiny for a seconds-long run), ffhq.py, lsun.py, paper.py
(the official presets), ablations.py. Print a config's fields with
  python -c "import runpy; print(runpy.run_path('configs/demo.py')['get_config']())"
"""


def help_text() -> str:
  """What ``train --help``/``--helpshort`` print: usage, what the flags do, where the config fields are documented,
  and this command's own flags (absl's usage would list those of the console script's module: none)."""
  return '\n'.join([USAGE, '', __doc__.strip(), '', CONFIG_HELP, 'flags:',
                     flags.FLAGS.module_help(sys.modules[__name__]).strip().split('\n', 1)[1], '',
                     'Try --helpfull to get a list of all flags (absl\'s and its libraries\' too).'])


def help_full_text() -> str:
  """What ``train --helpfull`` prints: the usage and config documentation of ``--help``, then every flag defined
  (this command's, absl's and those of the libraries it imports), by module."""
  app.define_help_flags()  # what app.run defines before parsing (idempotent), so they are listed too
  return '\n'.join([USAGE, '', __doc__.strip(), '', CONFIG_HELP, 'flags:', flags.FLAGS.get_help().strip()])


def run(argv: list[str] | None = None) -> None:
  """Runs the trainer with absl flag parsing (``argv`` without the program name; default: sys.argv)."""
  argv = list(sys.argv[1:] if argv is None else argv)
  options = argv[:argv.index('--') if '--' in argv else None]
  if any(arg in HELPFULL_FLAGS for arg in options):
    print(help_full_text())
    raise SystemExit(0)
  if any(arg in HELP_FLAGS for arg in options):
    print(help_text())
    raise SystemExit(0)
  app.run(main, argv=[sys.argv[0]] + argv, flags_parser=_parse_flags)


if __name__ == '__main__':
  run()
