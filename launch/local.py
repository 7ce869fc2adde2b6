"""Runs a training job as N processes on this machine, joined by ``jax.distributed`` as on a cluster.

    python launch/local.py --processes 2 --cpu-devices 4 -- \\
        --config configs/demo.py:tiny --workdir runs/mp

Everything after ``--`` goes to ``python -m stylegan2_jax.main`` in every
process, followed by ``--coordinator_address=127.0.0.1:PORT
--num_processes=N --process_id=I``. ``--cpu-devices D`` gives each process D
forced host (CPU) devices, to try multi-host sharding without accelerators;
``--gpus-per-process K`` gives process I the GPUs ``I*K ... I*K+K-1`` through
``CUDA_VISIBLE_DEVICES``. Every line a process prints is prefixed ``[I]``.

If a process exits with an error (or is killed), the launcher stops the others
(SIGTERM, then SIGKILL after ``--grace`` seconds: their peer is gone, so their
next collective could never finish) and exits with that process's status.
SIGINT/SIGTERM to the launcher are passed on to every process, which save a
checkpoint and stop. Uses only the standard library.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def free_port() -> int:
  """A TCP port on 127.0.0.1 that nothing listens on right now."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def process_env(index: int, cpu_devices: int | None, gpus_per_process: int | None) -> dict[str, str]:
  """The environment of process ``index``: its devices, and no inherited cluster variables."""
  env = {k: v for k, v in os.environ.items()
         if not k.startswith(('SLURM_', 'OMPI_COMM_WORLD_', 'TPU_WORKER_')) and k != 'JAX_COORDINATOR_ADDRESS'}
  if cpu_devices:
    flags = [f for f in env.get('XLA_FLAGS', '').split() if not f.startswith('--xla_force_host_platform_device_count')]
    env['XLA_FLAGS'] = ' '.join(flags + [f'--xla_force_host_platform_device_count={cpu_devices}'])
    env.setdefault('JAX_PLATFORMS', 'cpu')
  if gpus_per_process:
    first = index * gpus_per_process
    env['CUDA_VISIBLE_DEVICES'] = ','.join(str(g) for g in range(first, first + gpus_per_process))
  return env


def _relay(index: int, stream, out) -> None:
  for line in iter(stream.readline, ''):
    out.write(f'[{index}] {line}')
    out.flush()


def launch(processes: int, trainer_args: list[str], cpu_devices: int | None = None,
           gpus_per_process: int | None = None, port: int | None = None, grace: float = 10.0,
           out=sys.stdout, program: tuple[str, ...] = (sys.executable, '-m', 'stylegan2_jax.main')) -> int:
  """Starts the processes, relays their output, and returns the job's exit status (0 when all succeeded)."""
  port = port or free_port()
  procs, relays = [], []
  for index in range(processes):
    cmd = [*program, *trainer_args, f'--coordinator_address=127.0.0.1:{port}',
           f'--num_processes={processes}', f'--process_id={index}']
    proc = subprocess.Popen(cmd, env=process_env(index, cpu_devices, gpus_per_process), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    relays.append(threading.Thread(target=_relay, args=(index, proc.stdout, out), daemon=True))
    relays[-1].start()
    out.write(f'launch: process {index} of {processes} is pid {proc.pid} (coordinator 127.0.0.1:{port})\n')
    out.flush()
    procs.append(proc)

  def forward(signum, _frame):
    for proc in procs:
      if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
  previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    return _supervise(procs, grace, out)
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)
    for relay in relays:  # the last lines of every process, e.g. its error
      relay.join(timeout=5)


def _supervise(procs, grace: float, out) -> int:
  """Waits for all processes; the first failure stops the rest."""
  while True:
    codes = [proc.poll() for proc in procs]
    failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
    if failed:
      index, code = failed[0]
      running = [p for p in procs if p.poll() is None]
      out.write(f'launch: process {index} exited with status {code}; stopping the other {len(running)}\n')
      out.flush()
      for proc in running:
        proc.send_signal(signal.SIGTERM)
      deadline = time.time() + grace
      for proc in running:
        try:
          proc.wait(timeout=max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
          proc.kill()
          proc.wait()
      return code if code > 0 else 128 - code  # killed by signal N: 128 + N, as a shell reports it
    if all(c == 0 for c in codes):
      return 0
    time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
  """Command line entry point."""
  argv = sys.argv[1:] if argv is None else list(argv)
  own, trainer_args = (argv[:argv.index('--')], argv[argv.index('--') + 1:]) if '--' in argv else (argv, [])
  parser = argparse.ArgumentParser(prog='launch/local.py', description=__doc__.split('\n\n')[0],
                                   usage='%(prog)s --processes N [options] -- TRAINER FLAGS')
  parser.add_argument('--processes', type=int, required=True, help='number of processes')
  parser.add_argument('--cpu-devices', type=int, default=None, help='forced host (CPU) devices per process')
  parser.add_argument('--gpus-per-process', type=int, default=None, help='GPUs per process (CUDA_VISIBLE_DEVICES)')
  parser.add_argument('--port', type=int, default=None, help='coordinator port (default: a free one)')
  parser.add_argument('--grace', type=float, default=10.0, help='seconds the others get to stop after a failure')
  args = parser.parse_args(own)
  if args.processes < 1:
    parser.error('--processes must be at least 1')
  if not trainer_args:
    parser.error('give the trainer flags after --, e.g. -- --config configs/demo.py --workdir runs/mp')
  return launch(args.processes, trainer_args, args.cpu_devices, args.gpus_per_process, args.port, args.grace)


if __name__ == '__main__':
  sys.exit(main())
