"""Generator forward throughput: prints one JSON line per setting (img/s, compile time, peak memory).

    python -m benchmarks.generator_throughput                  # both settings
    python -m benchmarks.generator_throughput --settings res64 --iters 20

Settings: ``res64`` (channel_base 16384, channel_max 512, batch 8),
``res256_f`` (config F at 256x256: channel_base 32768, channel_max 512, batch 8)
and ``res256_paper`` (the paper256 generator: channel_base 16384, channel_max 512,
batch 8).
Random weights, noise_mode='const', truncation 1, float32 unless --num-fp16-res.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import jax

from stylegan2_jax.networks.config import generator_from_kwargs, init_generator
from stylegan2_jax.networks.defaults import generator_config

SETTINGS = {
    'res64': dict(img_resolution=64, channel_base=16384),
    'res256_f': dict(img_resolution=256, channel_base=32768),
    'res256_paper': dict(img_resolution=256, channel_base=16384),
}


def peak_memory_bytes() -> int:
  """Peak device memory where the backend reports it, else the process's peak RSS."""
  stats = jax.devices()[0].memory_stats() or {}
  if 'peak_bytes_in_use' in stats:
    return int(stats['peak_bytes_in_use'])
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(name: str, batch: int, iters: int, num_fp16_res: int, fp16_dtype: str) -> dict:
  """Times one setting: compile, warm-up, then ``iters`` timed forward passes."""
  setting = SETTINGS[name]
  cfg = generator_config(setting['img_resolution'])
  cfg.synthesis_kwargs.update(channel_base=setting['channel_base'], channel_max=512,
                              num_fp16_res=num_fp16_res, fp16_dtype=fp16_dtype)
  if num_fp16_res:
    cfg.synthesis_kwargs.conv_clamp = 256.0
  G = generator_from_kwargs(cfg)
  variables = init_generator(G, jax.random.PRNGKey(0))
  forward = jax.jit(lambda v, z: G.apply(v, z, None, noise_mode='const'))
  z = jax.random.normal(jax.random.PRNGKey(1), (batch, G.z_dim))
  t0 = time.perf_counter()
  compiled = forward.lower(variables, z).compile()
  compile_s = time.perf_counter() - t0
  compiled(variables, z).block_until_ready()
  t0 = time.perf_counter()
  for _ in range(iters):
    out = compiled(variables, z)
  out.block_until_ready()
  elapsed = time.perf_counter() - t0
  return dict(setting=name, img_resolution=setting['img_resolution'], channel_base=setting['channel_base'],
              channel_max=512, batch=batch, iters=iters, num_fp16_res=num_fp16_res,
              img_per_s=round(batch * iters / elapsed, 3), compile_s=round(compile_s, 2),
              peak_memory_bytes=peak_memory_bytes(), backend=jax.default_backend(),
              device=jax.devices()[0].device_kind, device_count=jax.device_count(),
              cpu=platform.processor() or platform.machine(), jax=jax.__version__)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--settings', default='res64,res256_f', help='comma-separated: ' + ','.join(SETTINGS))
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--iters', type=int, default=10)
  parser.add_argument('--num-fp16-res', type=int, default=0)
  parser.add_argument('--fp16-dtype', default='bfloat16', choices=['bfloat16', 'float16'])
  args = parser.parse_args()
  for name in args.settings.split(','):
    print(json.dumps(run(name.strip(), args.batch, args.iters, args.num_fp16_res, args.fp16_dtype)), flush=True)


if __name__ == '__main__':
  main()
