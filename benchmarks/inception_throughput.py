"""FID Inception-v3 feature throughput: prints one JSON line (img/s, CPU s/img, compile time, peak memory).

    python -m benchmarks.inception_throughput                 # batch 8, 299x299 uint8, 10 timed iterations
    python -m benchmarks.inception_throughput --batch 32 --iters 5 --size 256

Times :class:`~stylegan2_jax.metrics.inception.InceptionV3` from uint8 NHWC images
to pool3 (resize included, an identity at 299 px), jitted, at float32 with
'highest' matmul precision, as FID runs it. Weights are the reference fixture's
(``inception_fid.npz``, found through ``STYLEGAN2_JAX_FIXTURES``) when present,
else random init; speed does not depend on them. For scale: PyTorch (pytorch-fid,
2 threads) does 10 img/s on the idle 2-core development machine. ``cpu_s_per_img``
(process CPU time per image) and ``load_avg_1m`` help to read runs on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import time

import jax
import numpy as np

from stylegan2_jax.metrics.inception import InceptionV3, init_inception, load_inception

FIXTURE = pathlib.Path(os.environ.get('STYLEGAN2_JAX_FIXTURES', pathlib.Path(__file__).resolve().parents[2]
                                      / 'shared' / 'fixtures')) / 'inception_fid.npz'


def peak_memory_bytes() -> int:
  """Peak device memory where the backend reports it, else the process's peak RSS."""
  stats = jax.devices()[0].memory_stats() or {}
  if 'peak_bytes_in_use' in stats:
    return int(stats['peak_bytes_in_use'])
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(batch: int, iters: int, size: int) -> dict:
  """Compiles, warms up, then times ``iters`` forward passes of ``batch`` uint8 images of ``size`` px."""
  jax.config.update('jax_default_matmul_precision', 'highest')
  weights = 'fixture' if FIXTURE.exists() else 'random'
  variables = load_inception(FIXTURE) if FIXTURE.exists() else init_inception(jax.random.PRNGKey(0))
  images = np.random.default_rng(0).integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
  forward = jax.jit(lambda v, x: InceptionV3().apply(v, x))
  t0 = time.perf_counter()
  compiled = forward.lower(variables, images).compile()
  compile_s = time.perf_counter() - t0
  images = jax.device_put(images)
  compiled(variables, images).block_until_ready()
  t0, cpu0 = time.perf_counter(), sum(os.times()[:2])
  for _ in range(iters):
    out = compiled(variables, images)
  out.block_until_ready()
  elapsed, cpu_s = time.perf_counter() - t0, sum(os.times()[:2]) - cpu0
  return dict(benchmark='inception_fid_pool3', batch=batch, size=size, iters=iters, weights=weights,
              img_per_s=round(batch * iters / elapsed, 3), s_per_batch=round(elapsed / iters, 4),
              cpu_s_per_img=round(cpu_s / (batch * iters), 4), compile_s=round(compile_s, 2), peak_memory_bytes=peak_memory_bytes(),
              peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
              backend=jax.default_backend(), device=jax.devices()[0].device_kind, cpu_count=os.cpu_count(),
              cpu=platform.processor() or platform.machine(), load_avg_1m=round(os.getloadavg()[0], 2),
              jax=jax.__version__)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--iters', type=int, default=10)
  parser.add_argument('--size', type=int, default=299, help='input image side, pixels (resized to 299)')
  args = parser.parse_args()
  print(json.dumps(run(args.batch, args.iters, args.size)), flush=True)


if __name__ == '__main__':
  main()
