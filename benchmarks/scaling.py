"""Scaling efficiency of training from 1 to N devices: one JSON line per device count, then a summary line.

    python -m benchmarks.scaling                                   # CPU: 1, 2, 4, 8 forced host devices, demo nets
    python -m benchmarks.scaling --platform gpu --devices 1,2,4,8 --settings res256 --batch-per-device 4

Each device count runs ``benchmarks/train_throughput.py`` in a fresh process
(the device count is fixed when JAX starts): on CPU with
``--xla_force_host_platform_device_count=n``, on GPU with the first n GPUs
(``CUDA_VISIBLE_DEVICES``). Weak scaling: the per-device batch stays
``--batch-per-device``, so the global batch grows with n, and

    efficiency(n) = img/s(n) / (n * img/s(1))

is 1.0 for perfect scaling. Forced CPU devices share this machine's cores, so on
CPU the figure measures what sharding costs (collectives, per-device overheads),
not a speed-up; real accelerators give the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def device_env(platform: str, n: int) -> dict[str, str]:
  """Environment that gives a fresh JAX process exactly ``n`` devices of ``platform``."""
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get('PYTHONPATH')])))
  if platform == 'cpu':
    flags = [f for f in env.get('XLA_FLAGS', '').split() if not f.startswith('--xla_force_host_platform_device_count')]
    env.update(JAX_PLATFORMS='cpu', XLA_FLAGS=' '.join(flags + [f'--xla_force_host_platform_device_count={n}']))
  else:
    env.update(JAX_PLATFORMS=platform, CUDA_VISIBLE_DEVICES=','.join(str(i) for i in range(n)))
  return env


def measure(platform: str, n: int, setting: str, batch_per_device: int, iters: int) -> dict:
  """img/s of one device count (a train_throughput run in its own process)."""
  cmd = [sys.executable, '-m', 'benchmarks.train_throughput', '--settings', setting,
         '--batch', str(batch_per_device * n), '--iters', str(iters)]
  proc = subprocess.run(cmd, env=device_env(platform, n), cwd=REPO, capture_output=True, text=True)
  if proc.returncode:
    raise SystemExit(f'{n} devices failed:\n{proc.stderr[-3000:]}')
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  if result['device_count'] != n:
    raise SystemExit(f'asked for {n} devices, the run had {result["device_count"]}')
  return result


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--platform', default='cpu', choices=('cpu', 'gpu'))
  parser.add_argument('--devices', default='1,2,4,8', help='comma-separated device counts; the first is the baseline')
  parser.add_argument('--settings', default='demo', help='a train_throughput setting: demo, res64, res256')
  parser.add_argument('--batch-per-device', type=int, default=4)
  parser.add_argument('--iters', type=int, default=3, help='timed calls per phase')
  args = parser.parse_args()
  counts = [int(n) for n in args.devices.split(',')]
  results = {}
  for n in counts:
    results[n] = measure(args.platform, n, args.settings, args.batch_per_device, args.iters)
    print(json.dumps(results[n]), flush=True)
  base = results[counts[0]]['img_per_s'] / counts[0]
  print(json.dumps(dict(
      summary='weak scaling', setting=args.settings, platform=args.platform, batch_per_device=args.batch_per_device,
      img_per_s={n: r['img_per_s'] for n, r in results.items()},
      efficiency={n: round(r['img_per_s'] / (n * base), 3) for n, r in results.items()},
      device=results[counts[0]]['device'], cpu=results[counts[0]]['cpu'], jax=results[counts[0]]['jax'])), flush=True)


if __name__ == '__main__':
  main()
