"""Training entry point: ``python -m stylegan2_jax.main --config configs/demo.py --workdir runs/demo``.

Flags: ``--config`` (a config file, optionally ``file.py:arg``; override any
field as ``--config.total_kimg=100``) and ``--workdir``. Launched as several
processes (a TPU pod, SLURM, or ``--coordinator_address`` with
``--num_processes``/``--process_id``), it joins them with
``jax.distributed.initialize()`` first.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Training config file.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs and samples.')
_COORDINATOR = flags.DEFINE_string('coordinator_address', None, 'host:port of process 0 (multi-process runs).')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Number of processes (multi-process runs).')
_PROCESS_ID = flags.DEFINE_integer('process_id', None, 'This process\'s index (multi-process runs).')
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
  if _COORDINATOR.value:
    if 'jax_cpu_collectives_implementation' in jax.config.values:
      jax.config.update('jax_cpu_collectives_implementation', 'gloo')  # cross-process collectives on CPU
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                               heartbeat_timeout_seconds=_HEARTBEAT.value)
  elif launched_as_cluster():
    jax.distributed.initialize(heartbeat_timeout_seconds=_HEARTBEAT.value)


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # progress goes to stdout; library INFO chatter only on request
  initialize_distributed()
  from stylegan2_jax.train import TrainingDivergedError, train_and_evaluate  # after initialize()
  try:
    train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except (ValueError, FileNotFoundError, TrainingDivergedError) as e:  # bad input or divergence: say what to do
    raise SystemExit(f'stylegan2-jax train: error: {e}') from None


def run(argv: list[str] | None = None) -> None:
  """Runs the trainer with absl flag parsing (``argv`` without the program name; default: sys.argv)."""
  app.run(main, argv=[sys.argv[0]] + list(sys.argv[1:] if argv is None else argv))


if __name__ == '__main__':
  run()
