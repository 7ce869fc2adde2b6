"""The training phases compiled for TPU topologies on a CPU host: FLOPs, bytes, HBM and a roofline *bound*.

Needs a separate virtual environment with libtpu (no TPU needed, any CPU host)::

    python3 -m venv /tmp/tpu-venv
    /tmp/tpu-venv/bin/pip install "jax[tpu]==<the project's jax version>" -e .
    /tmp/tpu-venv/bin/python -m benchmarks.tpu_compile --topologies v5e:2x2 --settings paper256
    /tmp/tpu-venv/bin/python -m benchmarks.tpu_compile --settings f1024 --precisions bf16 --phases Greg
    /tmp/tpu-venv/bin/python -m benchmarks.tpu_compile --settings paper256 --phases Gmain --top-ops 20

(libtpu warns that it finds no TPU: expected, it only compiles. Two compiles at
once need ``ALLOW_MULTIPLE_LIBTPU_LOAD=1``. A config-F-1024 phase takes a few
minutes and about 5 GB of host memory to compile.)

Each phase (Gmain, Greg, Dmain, Dreg) is built exactly as the trainer builds it
(``TrainSteps`` over a ``data`` mesh of the topology's abstract devices, the
state from ``abstract_train_state``), lowered with ``ShapeDtypeStruct``
arguments and compiled by the real TPU compiler. One JSON line per (topology,
setting, precision, phase) reports the compiled program's ``cost_analysis``
(FLOPs, bytes accessed: per device, as the program is SPMD-partitioned) and
``memory_analysis`` (argument, output, temporary bytes per device), then one
summary line per (topology, setting, precision) amortizes the phases as the
official loop runs them (``Gmain + Dmain + Greg / 4 + Dreg / 16``).

``bound_*`` fields are a roofline lower bound on the time of the compiled
program, ``max(flops / peak_flops, bytes / hbm_bandwidth)`` from the chip's
published peak figures: a bound from the compiled program, never a measured
speed (XLA's own ``optimal_seconds`` is not used; it comes out negative for
these graphs).

Settings: ``paper256`` (the official paper256 preset at 256x256, 8 images per
device) and ``f1024`` (config F at 1024x1024, 4 images per device). Precisions:
``fp32``, and ``bf16`` (the official mixed precision with bfloat16: the top 4
resolutions of G and D reduced, ``conv_clamp=256``). ``--batch-gpu`` splits
each device's images into accumulation rounds. ``--top-ops N`` prints the N instructions of the compiled HLO
that move the most bytes (operands + result) with their shapes and source ops;
``--dump-hlo DIR`` writes each compiled module's text; ``--augment PIPE``
compiles the phases with ADA's augmentation of every image D sees (preset PIPE); ``--remat`` with every
block of G and D rematerialized (the training config's ``remat``); ``--interleaved-terms`` with
``sequential_terms=False`` (a phase's loss terms not ordered); ``--ops-target default``
compiles the CPU/GPU formulation of the resampling ops (``stylegan2_jax/ops/target.py``)
to compare.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import re
import sys

import jax
import jax.numpy as jnp
from jax.experimental import topologies

from configs.presets import ADA_SPECS, apply_spec, config_f, set_precision
from stylegan2_jax.ops.target import TARGETS, use_target
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated
from stylegan2_jax.augment import AUGPIPE_SPECS
from stylegan2_jax.training.augmentation import use_fixed_augment
from stylegan2_jax.training.build import build_training
from stylegan2_jax.training.config import training_config, validate_config
from stylegan2_jax.training.steps import PHASES, TrainSteps

# Published per-chip peaks: dense bf16 FLOP/s, HBM bytes/s, HBM bytes.
CHIPS = {
    'v4': dict(peak_flops=275e12, hbm_bandwidth=1228e9, hbm_bytes=32 * 2 ** 30),
    'v5e': dict(peak_flops=197e12, hbm_bandwidth=819e9, hbm_bytes=16 * 2 ** 30),
    'v5p': dict(peak_flops=459e12, hbm_bandwidth=2765e9, hbm_bytes=95 * 2 ** 30),
    'v6e': dict(peak_flops=918e12, hbm_bandwidth=1640e9, hbm_bytes=32 * 2 ** 30),
}
SETTINGS = {'paper256': dict(resolution=256, per_device=8), 'f1024': dict(resolution=1024, per_device=4)}
PRECISIONS = ('fp32', 'bf16')
INTERVALS = {'Greg': 4, 'Dreg': 16}  # the official G_reg_interval and D_reg_interval


def setting_config(setting: str, precision: str, devices: int, batch_gpu: int = 0, augment: str = 'none',
                   remat: bool = False, sequential_terms: bool = True):
  """The training config of a setting at ``devices`` devices (global batch = images per device * devices).

  ``augment`` is an ``--augpipe`` preset that augments every image D sees (at a
  fixed p: the compiled program is the same for every p), or ``none``; ``remat``
  rematerializes the blocks of G and D (the training config's ``remat``);
  ``sequential_terms`` is the training config's (each loss term's gradient
  before the next term's forward pass).
  """
  spec = SETTINGS[setting]
  if setting == 'paper256':
    config = apply_spec(training_config(spec['resolution']), ADA_SPECS['paper256'])
  else:
    config = config_f(spec['resolution'])
  config.batch_size = spec['per_device'] * devices
  config.batch_gpu = batch_gpu
  config.remat = remat
  config.sequential_terms = sequential_terms
  config.augment = 'none'
  if augment != 'none':
    use_fixed_augment(config, augment, 0.6)
  config = set_precision(config, precision)
  validate_config(config, devices)  # the trainer's own checks: e.g. batch_gpu must leave path-length images per round
  return config


def phase_setup(config, mesh):
  """The trainer's phase steps for ``config`` on ``mesh`` and abstract arguments -> (steps, state, real)."""
  training = build_training(config, mesh, 3)
  res = config.resolution
  real = jax.ShapeDtypeStruct((config.batch_size, 3, res, res), jnp.uint8, sharding=batch_sharding(mesh))
  return training.steps, training.abstract_state(replicated(mesh)), real


def topology_devices(name: str):
  """The abstract devices of a TPU topology such as ``v5e:2x4``, and devices per chip."""
  topology = topologies.get_topology_desc(platform='tpu', topology_name=name)
  chips = math.prod(int(d) for d in name.split(':')[1].split('x'))
  return topology.devices, len(topology.devices) // chips


def lower_phase(steps: TrainSteps, phase: str, state, real):
  """The jitted phase lowered with abstract arguments."""
  if phase == 'Gmain':
    return steps.g_step.lower(state, None)
  if phase == 'Greg':
    return steps.g_reg_step.lower(state, None)
  if phase == 'Dmain':
    return steps.d_step.lower(state, real, None)
  return steps.d_reg_step.lower(state, real, None)


_SHAPE = re.compile(r'\b(pred|s8|u8|s16|u16|s32|u32|s64|u64|f16|bf16|f32|f64)\[([0-9,]*)\]')
_BYTES = dict(pred=1, s8=1, u8=1, s16=2, u16=2, f16=2, bf16=2, s32=4, u32=4, f32=4, s64=8, u64=8, f64=8)
_FREE = ('parameter', 'constant', 'get-tuple-element', 'tuple', 'bitcast', 'while', 'conditional', 'call',
         'after-all', 'partition-id', 'replica-id')


def _shape_bytes(text: str) -> int:
  return sum(_BYTES[t] * math.prod(int(d) for d in dims.split(',') if d) for t, dims in _SHAPE.findall(text))


def top_ops(hlo_text: str, count: int) -> list[dict]:
  """The ``count`` instructions of a compiled HLO module (outside fusion bodies) moving the most bytes.

  Bytes are the result's plus the operands' sizes (an instruction inside a
  loop body counts once per appearance, not per trip).
  """
  fused = set(re.findall(r'calls=(%[\w.\-]+)', hlo_text))
  rows, skip = [], False
  for line in hlo_text.splitlines():
    header = re.match(r'^(?:ENTRY\s+)?(%[\w.\-]+)\s.*\{\s*$', line)
    if header:
      skip = header.group(1) in fused and not line.startswith('ENTRY')
      continue
    m = re.match(r'^\s*(?:ROOT\s+)?(%[\w.\-]+)\s*=\s*(.*?)\s([\w\-]+)\((.*)$', line)
    if skip or not m:
      continue
    name, result, opcode, rest = m.groups()
    if opcode in _FREE:
      continue
    operands = rest.split('), ')[0] if '), ' in rest else rest
    source = re.search(r'op_name="([^"]*)"', line)
    kind = re.search(r'kind=(\w+)', line)
    out_b, in_b = _shape_bytes(result), _shape_bytes(operands)
    rows.append(dict(bytes=out_b + in_b, result_bytes=out_b, name=name, opcode=opcode,
                     kind=kind.group(1) if kind else None, result=result.split('{')[0][:120],
                     operands=re.sub(r'\{[^}]*\}', '', operands)[:200],
                     source=source.group(1)[-160:] if source else None))
  rows.sort(key=lambda r: -r['bytes'])
  return rows[:count]


def compile_phase(steps, phase, state, real, chip: dict, per_device_images: int, top: int = 0,
                  dump: str | None = None, ops: str = 'tpu') -> dict:
  """Compiles one phase -> its per-device figures (and the top byte movers when ``top``; HLO text to ``dump``)."""
  with use_target(ops):
    compiled = lower_phase(steps, phase, state, real).compile()
  if dump:
    with open(dump, 'w') as f:
      f.write(compiled.as_text())
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  mem = compiled.memory_analysis()
  flops, nbytes = float(cost.get('flops', 0.0)), float(cost.get('bytes accessed', 0.0))
  hbm = mem.argument_size_in_bytes + mem.output_size_in_bytes - mem.alias_size_in_bytes + mem.temp_size_in_bytes
  bound = max(flops / chip['peak_flops'], nbytes / chip['hbm_bandwidth'])
  out = dict(phase=phase, flops_per_device=flops, bytes_accessed_per_device=nbytes,
             bytes_per_image=round(nbytes / per_device_images), arithmetic_intensity=round(flops / max(nbytes, 1), 2),
             argument_bytes=mem.argument_size_in_bytes, output_bytes=mem.output_size_in_bytes,
             alias_bytes=mem.alias_size_in_bytes, temp_bytes=mem.temp_size_in_bytes, hbm_bytes_per_device=hbm,
             fits_hbm=hbm <= chip['hbm_bytes'], bound_s=bound,
             bound_by='memory' if nbytes / chip['hbm_bandwidth'] > flops / chip['peak_flops'] else 'compute')
  if top:
    out['top_ops'] = top_ops(compiled.as_text(), top)
  del compiled
  gc.collect()
  return out


def run(topology: str, setting: str, precision: str, phases, batch_gpu: int = 0, top: int = 0,
        dump_dir: str | None = None, ops: str = 'tpu', augment: str = 'none', remat: bool = False,
        sequential_terms: bool = True):
  """Yields one dict per compiled phase, then the amortized summary when all four phases compiled."""
  devices, per_chip = topology_devices(topology)
  chip = dict(CHIPS[topology.split(':')[0]])
  chip = {k: v / per_chip for k, v in chip.items()}  # per device where a chip shows as several devices
  mesh = data_mesh(devices)
  config = setting_config(setting, precision, mesh.size, batch_gpu, augment, remat, sequential_terms)
  steps, state, real = phase_setup(config, mesh)
  res = config.resolution
  per_device = config.batch_size // mesh.size
  head = dict(kind='phase', figures='bound from the compiled program, not a measured speed', topology=topology,
              devices=mesh.size, setting=setting, precision=precision, resolution=res,
              batch=config.batch_size, images_per_device=per_device, batch_gpu=batch_gpu,
              ops_target=ops, augment=augment, remat=remat, sequential_terms=sequential_terms)
  results = {}
  for phase in phases:
    try:
      aug = '' if augment == 'none' else f'_{augment}'
      aug += '_remat' if remat else ''
      aug += '' if sequential_terms else '_interleaved'
      dump = dump_dir and f'{dump_dir}/{topology.replace(":", "_")}_{setting}_{precision}{aug}_{phase}.hlo.txt'
      row = compile_phase(steps, phase, state, real, chip, per_device, top, dump, ops)
    except Exception as e:  # an out-of-memory compile is a result, not a crash
      row = dict(phase=phase, error=str(e).splitlines()[0][:300])
    results[phase] = row
    yield {**head, **row}
  if all(p in results and 'bound_s' in results[p] for p in PHASES):
    per_iter = sum(results[p]['bound_s'] / INTERVALS.get(p, 1) for p in PHASES)
    flops = sum(results[p]['flops_per_device'] / INTERVALS.get(p, 1) for p in PHASES)
    nbytes = sum(results[p]['bytes_accessed_per_device'] / INTERVALS.get(p, 1) for p in PHASES)
    yield {**head, 'kind': 'summary', 'amortized': 'Gmain + Dmain + Greg/4 + Dreg/16',
           'flops_per_iter_per_device': flops, 'bytes_per_iter_per_device': nbytes,
           'bytes_per_image_per_iter': round(nbytes / per_device),
           'max_hbm_bytes_per_device': max(results[p]['hbm_bytes_per_device'] for p in PHASES),
           'fits_hbm': all(results[p]['fits_hbm'] for p in PHASES),
           'bound_s_per_iter': per_iter, 'bound_img_per_s_per_device': per_device / per_iter,
           'bound_s_per_kimg': per_iter * 1000 / config.batch_size}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--topologies', default='v5e:2x4', help='comma-separated, e.g. v5e:2x4,v6e:2x4,v5p:2x2x1')
  parser.add_argument('--settings', default='paper256', help='comma-separated: ' + ','.join(SETTINGS))
  parser.add_argument('--precisions', default='fp32,bf16', help='comma-separated: ' + ','.join(PRECISIONS))
  parser.add_argument('--phases', default=','.join(PHASES), help='comma-separated: ' + ','.join(PHASES))
  parser.add_argument('--batch-gpu', type=int, default=0, help='images per device per accumulation round (0 = all)')
  parser.add_argument('--top-ops', type=int, default=0, help='also list the N HLO instructions moving the most bytes')
  parser.add_argument('--ops-target', default='tpu', choices=TARGETS,
                      help='formulation of the resampling ops (stylegan2_jax/ops/target.py); tpu is what a TPU runs')
  parser.add_argument('--augment', default='none',
                      help='an --augpipe preset (e.g. bgc): ADA augments every image D sees, as in training')
  parser.add_argument('--remat', action='store_true',
                      help='rematerialize every block of G and D (the training config\'s remat): less HBM, more FLOPs')
  parser.add_argument('--interleaved-terms', action='store_true',
                      help='sequential_terms=False: XLA may interleave a phase\'s loss terms (fewer bytes, more HBM)')
  parser.add_argument('--dump-hlo', metavar='DIR', help='write each compiled phase\'s HLO text into DIR')
  args = parser.parse_args()
  lists = {k: [v.strip() for v in getattr(args, k).split(',') if v.strip()]
           for k in ('topologies', 'settings', 'precisions', 'phases')}
  for key, allowed in (('settings', SETTINGS), ('precisions', PRECISIONS), ('phases', PHASES)):
    bad = [v for v in lists[key] if v not in allowed]
    if bad:
      sys.exit(f'tpu_compile: --{key} {",".join(bad)}: choose from {",".join(allowed)}')
  if args.augment != 'none' and args.augment not in AUGPIPE_SPECS:
    sys.exit(f'tpu_compile: --augment {args.augment}: choose from none,{",".join(AUGPIPE_SPECS)}')
  bad = [t for t in lists['topologies'] if t.split(':')[0] not in CHIPS or ':' not in t]
  if bad:
    sys.exit(f'tpu_compile: --topologies {",".join(bad)}: use NAME:SHAPE with NAME one of {",".join(CHIPS)}')
  for topology in lists['topologies']:
    for setting in lists['settings']:
      for precision in lists['precisions']:
        for row in run(topology, setting, precision, lists['phases'], args.batch_gpu, args.top_ops,
                       args.dump_hlo, args.ops_target, args.augment, args.remat, not args.interleaved_terms):
          print(json.dumps(row), flush=True)


if __name__ == '__main__':
  main()
