"""Training throughput: prints one JSON line per setting (sec/iteration, img/s, sec/kimg, compile time, memory).

    python -m benchmarks.train_throughput                      # res64 and res256
    python -m benchmarks.train_throughput --settings res64 --iters 3
    python -m benchmarks.train_throughput --settings res64 --augment bgc   # D sees ADA-augmented images
    python -m benchmarks.train_throughput --settings res64 --remat         # every block of G and D rematerialized

A training iteration is the official loop's: Gmain and Dmain every step, Greg
every ``G_reg_interval`` (4) and Dreg every ``D_reg_interval`` (16) steps. Each
phase is compiled and timed on its own (after a warm-up call), and
``sec_per_iter = Gmain + Dmain + Greg / 4 + Dreg / 16``, the amortized cost.
Settings follow the official ``paper256`` recipe: ``res64`` is batch 8,
channel_base 16384, channel_max 512, z/w 512, 8 mapping layers, r1_gamma 0.0256;
``res256`` the same at 256x256 (r1_gamma 1); ``res256_b4`` is res256 at batch 4, the
batch of the official paper256 speed measurement (one V100's share); ``demo`` is the demo's small
networks at 32x32 (``benchmarks/scaling.py`` uses it on CPU). Float32, random
weights. ``--augment PIPE`` augments every image D sees with that ``--augpipe``
preset at a fixed ``--augment-p`` (the cost does not depend on p: every draw and
stage runs for every image). ``--remat`` rematerializes every block of G and D
(the training config's ``remat``): the compute it adds. Besides wall-clock seconds (``phase_s``), each phase
reports the process's CPU seconds per call (``phase_cpu_s``, all threads), which
other jobs on a shared host disturb much less: compare settings on those there.
With ``--augment``, the pipe is also timed alone at the iteration's shapes
(``pipe_*_s_per_iter``, see ``augment_pipe_cost``); ``--pipe-only`` times only that.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.generator_throughput import peak_memory_bytes
from stylegan2_jax.augment import augment, draw_augment_inputs, preset
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated
from stylegan2_jax.training.augmentation import use_fixed_augment
from stylegan2_jax.training.build import build_training
from stylegan2_jax.training.config import training_config
from stylegan2_jax.training.steps import PHASES

PAPER256 = dict(channel_base=16384, channel_max=512, z_dim=512, mapping_layers=8)
SETTINGS = {'res64': dict(resolution=64, r1_gamma=0.0256, **PAPER256),
            'res256': dict(resolution=256, r1_gamma=1.0, **PAPER256),
            'res256_b4': dict(resolution=256, r1_gamma=1.0, batch=4, **PAPER256),
            'demo': dict(resolution=32, r1_gamma=0.0064, channel_base=1024, channel_max=64, z_dim=128,
                         mapping_layers=2)}


def benchmark_config(name: str, batch: int):
  """The training config of a setting."""
  setting = SETTINGS[name]
  config = training_config(setting['resolution'])
  config.batch_size = batch
  config.augment = 'none'  # run() turns it on
  config.r1_gamma = setting['r1_gamma']
  config.G.update(z_dim=setting['z_dim'], w_dim=setting['z_dim'])
  config.G.mapping_kwargs.num_layers = setting['mapping_layers']
  for net in (config.G.synthesis_kwargs, config.D):
    net.update(channel_base=setting['channel_base'], channel_max=setting['channel_max'])
  return config


def training_setup(config, img_channels: int, mesh, seed: int = 0):
  """The phase steps of a config on ``mesh`` and a fresh state from ``seed`` -> (TrainSteps, TrainState)."""
  training = build_training(config, mesh, img_channels)
  state = jax.jit(training.create_state, out_shardings=replicated(mesh))(jax.random.PRNGKey(seed))
  return training.steps, state


def amortized(phase_seconds: dict, config) -> float:
  """Seconds per iteration of the official loop: ``Gmain + Dmain + Greg / 4 + Dreg / 16``."""
  return (phase_seconds['Gmain'] + phase_seconds['Dmain'] + phase_seconds['Greg'] / config.G_reg_interval
          + phase_seconds['Dreg'] / config.D_reg_interval)


def augment_pipe_cost(pipe: str, batch: int, resolution: int, iters: int, p: float = 0.6,
                      reg_interval: int = 16) -> dict:
  """The ADA pipe alone at one training iteration's shapes: wall and CPU seconds per iteration.

  Per iteration D sees ``2 * batch`` augmented images forward in Dmain (reals and
  fakes), ``batch`` with their input gradient in Gmain, and every ``reg_interval``
  iterations ``batch`` reals with the input gradient in Dreg (its second-order
  pass through the pipe is not counted).
  """
  settings = preset(pipe)
  forward = jax.jit(lambda x, d, p: augment(x, d, p, settings))
  with_grad = jax.jit(lambda x, d, p: jax.vjp(lambda x: augment(x, d, p, settings), x)[1](x)[0])
  calls = (('forward', forward, 2 * batch, 1.0), ('with_grad', with_grad, batch, 1.0 + 1.0 / reg_interval))
  wall = cpu = 0.0
  parts = {}
  for label, fn, n, weight in calls:
    shape = (n, 3, resolution, resolution)
    x = jax.random.uniform(jax.random.PRNGKey(1), shape, minval=-1.0, maxval=1.0)
    draws = draw_augment_inputs(jax.random.PRNGKey(2), settings, shape)
    jax.block_until_ready(fn(x, draws, jnp.float32(p)))  # compile
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
      jax.block_until_ready(fn(x, draws, jnp.float32(p)))
    call_wall, call_cpu = (time.perf_counter() - t0) / iters, (time.process_time() - c0) / iters
    parts[label] = dict(images=n, wall_s=round(call_wall, 3), cpu_s=round(call_cpu, 3))
    wall, cpu = wall + weight * call_wall, cpu + weight * call_cpu
  return dict(augpipe=pipe, augment_p=p, pipe_wall_s_per_iter=round(wall, 3), pipe_cpu_s_per_iter=round(cpu, 3),
              pipe_calls=parts)


def run(name: str, batch: int, iters: int, batch_gpu: int = 0, augment: str = 'none',
        augment_p: float = 0.6, remat: bool = False) -> dict:
  """Compiles and times each phase of one setting (D's images augmented with the ``augment`` preset)."""
  config = benchmark_config(name, batch)
  config.batch_gpu = batch_gpu
  config.remat = remat
  if augment != 'none':
    use_fixed_augment(config, augment, augment_p)
  mesh = data_mesh()
  steps, state = training_setup(config, 3, mesh)
  res = config.resolution
  real = jax.device_put(np.random.RandomState(0).randint(0, 256, (batch, 3, res, res)).astype(np.uint8),
                        batch_sharding(mesh))
  compile_s, phase_s, phase_cpu_s = {}, {}, {}
  for phase in PHASES:
    t0 = time.perf_counter()
    state, metrics = steps.run_phase(phase, state, real)  # first call: trace + compile + run
    jax.block_until_ready((state, metrics))
    compile_s[phase] = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
      state, metrics = steps.run_phase(phase, state, real)
    jax.block_until_ready((state, metrics))
    phase_s[phase] = (time.perf_counter() - t0) / iters
    phase_cpu_s[phase] = (time.process_time() - c0) / iters
    compile_s[phase] -= phase_s[phase]
  sec_per_iter = amortized(phase_s, config)
  # the pipe's own figures (with its augpipe and augment_p) when D's images are augmented
  pipe = dict(augment_p=None) if augment == 'none' else augment_pipe_cost(augment, batch, res, iters, augment_p,
                                                                         config.D_reg_interval)
  return dict(setting=name, resolution=res, batch=batch, batch_gpu=batch_gpu, augment=augment, remat=remat,
              channel_base=SETTINGS[name]['channel_base'], channel_max=SETTINGS[name]['channel_max'],
              r1_gamma=config.r1_gamma, iters_per_phase=iters, sec_per_iter=round(sec_per_iter, 3),
              img_per_s=round(batch / sec_per_iter, 3), sec_per_kimg=round(sec_per_iter * 1000 / batch, 1),
              phase_s={k: round(v, 3) for k, v in phase_s.items()},
              cpu_s_per_iter=round(amortized(phase_cpu_s, config), 3),
              phase_cpu_s={k: round(v, 3) for k, v in phase_cpu_s.items()},
              **pipe, compile_s=round(sum(compile_s.values()), 1), peak_memory_bytes=peak_memory_bytes(),
              backend=jax.default_backend(), device=jax.devices()[0].device_kind, device_count=jax.device_count(),
              cpu=platform.processor() or platform.machine(), jax=jax.__version__)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--settings', default='res64,res256', help='comma-separated: ' + ','.join(SETTINGS))
  parser.add_argument('--batch-gpu', type=int, default=0, help='images per device per accumulation round (0 = all)')
  parser.add_argument('--batch', type=int, default=0, help="global batch (0 = the setting's: 4 for res256_b4, else 8)")
  parser.add_argument('--iters', type=int, default=3, help='timed calls per phase after the warm-up call')
  parser.add_argument('--augment', default='none', help='an --augpipe preset (e.g. bgc) to augment what D sees')
  parser.add_argument('--augment-p', type=float, default=0.6, help='the (fixed) augmentation probability')
  parser.add_argument('--pipe-only', action='store_true',
                      help="with --augment: time only the pipe at each setting's iteration shapes, not the phases")
  parser.add_argument('--remat', action='store_true', help='rematerialize every block of G and D (config remat)')
  args = parser.parse_args()
  for name in args.settings.split(','):
    name = name.strip()
    if name not in SETTINGS:
      parser.error(f'--settings: unknown setting {name!r}; choose from {",".join(SETTINGS)}')
    batch = args.batch or SETTINGS[name].get('batch', 8)
    if args.pipe_only:
      if args.augment == 'none':
        parser.error('--pipe-only needs --augment PIPE')
      config = benchmark_config(name, batch)
      print(json.dumps(dict(setting=name, batch=batch, **augment_pipe_cost(
          args.augment, batch, config.resolution, args.iters, args.augment_p, config.D_reg_interval))), flush=True)
      continue
    print(json.dumps(run(name, batch, args.iters, args.batch_gpu, args.augment, args.augment_p, args.remat)),
          flush=True)


if __name__ == '__main__':
  main()
