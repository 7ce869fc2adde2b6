"""Mixed precision: how far reduced-precision compute on the top resolutions moves images, gradients and training.

    python -m benchmarks.mixed_precision                        # demo networks, 32x32, bf16 on 8-32 px, 300 steps
    python -m benchmarks.mixed_precision --steps 50 --num-fp16-res 2 --dtype float16

Prints one JSON line. The float32 and the reduced-precision networks share the
same float32 weights (``num_fp16_res``, ``fp16_dtype``, ``conv_clamp=256``
change only the compute); parameters and optimizer state stay float32.

At the float32-trained weights:

- ``image_*``: G images from 64 fixed latents, reduced precision vs float32
  (pixel range [-1, 1]: 1/127.5 is one 8-bit level).
- ``logits_*``: D on 64 real images.
- ``grad_*``: relative L2 error and cosine of the Gmain and Dmain gradients.

And along training:

- ``train_*``: both precisions trained ``--steps`` iterations on the demo
  dataset from the same initialization with the same data and draws; mean losses
  over the last quarter, and how far the reduced-precision parameters end from
  the float32 ones relative to how far float32 training moved them; for scale,
  the same distance for a float32 run that differs only in the seed of its
  latents and noise.
- ``sec_per_step``: on this machine (reduced precision is emulated on most CPUs,
  so it is slower there; it is meant for accelerators).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from configs.demo import get_config
from benchmarks.train_throughput import training_setup
from stylegan2_jax import losses
from stylegan2_jax.data.batches import Batches
from stylegan2_jax.data.datasets import load_dataset
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated


def precision_config(num_fp16_res: int, dtype: str):
  """The demo config with ``num_fp16_res`` top resolutions in ``dtype`` (0 = float32)."""
  config = get_config()
  config.conditional = False
  config.r1_gamma = 0.0064  # the demo's gamma when the README's table was measured (now 10)
  if num_fp16_res:
    for net in (config.G.synthesis_kwargs, config.D):
      net.update(num_fp16_res=num_fp16_res, fp16_dtype=dtype, conv_clamp=256.0)
  return config


def differences(a, b) -> dict:
  """Max and RMS of ``a - b`` and the RMS relative to ``b``."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  rms = float(np.sqrt(np.mean((a - b) ** 2)))
  return dict(max=float(np.abs(a - b).max()), rms=rms, rel_rms=rms / float(np.sqrt(np.mean(b ** 2))))


def tree_vector(tree) -> np.ndarray:
  return np.concatenate([np.asarray(x, np.float64).ravel() for x in jax.tree.leaves(tree)])


def gradient_agreement(g_low, g_ref) -> dict:
  """Relative L2 error and cosine similarity of two gradient pytrees."""
  a, b = tree_vector(g_low), tree_vector(g_ref)
  return dict(rel_l2=float(np.linalg.norm(a - b) / np.linalg.norm(b)),
              cosine=float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))


def one_shot(nets, state, real_img) -> dict:
  """Forward and gradient differences of the reduced-precision networks at the same float32 weights."""
  (G32, D32), (Glo, Dlo) = nets
  g_vars = {'params': state.G['params'], 'buffers': state.G['buffers']}
  d_params = state.D['params']
  z = jnp.asarray(np.random.RandomState(0).randn(len(real_img), G32.z_dim), jnp.float32)
  images = [jax.jit(lambda z, G=G: G.apply(g_vars, z, None, noise_mode='const'))(z) for G in (G32, Glo)]
  real = real_img.astype(jnp.float32) / 127.5 - 1
  logits = [jax.jit(lambda x, D=D: D.apply({'params': d_params}, x, None))(real) for D in (D32, Dlo)]
  draws = losses.draw_generator_inputs(jax.random.PRNGKey(1), G32, len(real_img), 0.9)

  def g_grad(G, D):
    return jax.jit(jax.grad(lambda p: losses.generator_main_loss(p, g_vars['buffers'], d_params, G, D, draws)[0]))(
        g_vars['params'])

  def d_grad(G, D):
    return jax.jit(jax.grad(lambda p: losses.discriminator_main_loss(p, g_vars['params'], g_vars['buffers'], G, D,
                                                                     draws, real)[0]))(d_params)

  return dict(image=differences(images[1], images[0]), logits=differences(logits[1], logits[0]),
              grad_Gmain=gradient_agreement(g_grad(Glo, Dlo), g_grad(G32, D32)),
              grad_Dmain=gradient_agreement(d_grad(Glo, Dlo), d_grad(G32, D32)))


def train(config, source, steps_count: int, mesh, draw_seed: int | None = None):
  """``steps_count`` iterations from the config's seed -> (start state, end state, per-step losses, nets, sec/step).

  ``draw_seed`` replaces the seed of the in-step draws (latents, noise) and keeps initialization and data.
  """
  steps, state = training_setup(config, source.channels, mesh, config.seed)
  if draw_seed is not None:
    state = state.replace(rng=jax.device_put(jax.random.key_data(jax.random.PRNGKey(draw_seed)), replicated(mesh)))
  start = jax.device_get(state)
  batches = Batches(source, config.batch_size, config.seed)
  history, t0 = [], None
  for step in range(steps_count):
    if step == 16:  # every phase has compiled
      jax.block_until_ready(state)
      t0 = time.perf_counter()
    real_img, _ = next(batches)
    real_img = jax.device_put(real_img, batch_sharding(mesh))
    record = {}
    for phase in steps.phases_at(step):
      state, metrics = steps.run_phase(phase, state, real_img)
      record.update({k: v for k, v in metrics.items() if k in ('loss_G', 'loss_D')})
    history.append(record)
  jax.block_until_ready(state)
  sec = (time.perf_counter() - t0) / (steps_count - 16) if t0 is not None else float('nan')
  return start, jax.device_get(state), jax.device_get(history), (steps.G, steps.D), sec


def run(num_fp16_res: int, dtype: str, steps_count: int) -> dict:
  """Measures one reduced-precision setting against float32."""
  mesh = data_mesh()
  reference, low = precision_config(0, dtype), precision_config(num_fp16_res, dtype)
  source = load_dataset(reference.dataset, reference.resolution, reference.data_dir)
  start, ref_end, ref_hist, ref_nets, ref_sec = train(reference, source, steps_count, mesh)
  _, low_end, low_hist, low_nets, low_sec = train(low, source, steps_count, mesh)
  _, other_end, _, _, _ = train(reference, source, steps_count, mesh, draw_seed=1)
  real_img, _ = next(Batches(source, 64, 1))
  compared = one_shot((ref_nets, low_nets), ref_end, jnp.asarray(real_img))  # at the trained float32 weights
  out = dict(resolution=reference.resolution, num_fp16_res=num_fp16_res, dtype=dtype, conv_clamp=256.0,
             **{f'{k}_{m}': v for k, d in compared.items() for m, v in d.items()})
  tail = slice(-max(steps_count // 4, 1), None)
  for name in ('loss_G', 'loss_D'):
    out[f'train_{name}_float32'] = float(np.mean([h[name] for h in ref_hist[tail]]))
    out[f'train_{name}_{dtype}'] = float(np.mean([h[name] for h in low_hist[tail]]))
  for net in ('G', 'D'):
    moved = tree_vector(getattr(ref_end, net)['params']) - tree_vector(getattr(start, net)['params'])
    apart = tree_vector(getattr(low_end, net)['params']) - tree_vector(getattr(ref_end, net)['params'])
    other = tree_vector(getattr(other_end, net)['params']) - tree_vector(getattr(ref_end, net)['params'])
    out[f'train_{net}_distance_over_update'] = float(np.linalg.norm(apart) / np.linalg.norm(moved))
    out[f'train_{net}_float32_other_draws_distance_over_update'] = float(np.linalg.norm(other) / np.linalg.norm(moved))
  out.update(train_steps=steps_count, sec_per_step_float32=round(ref_sec, 3), sec_per_step_low=round(low_sec, 3),
             dtypes_after_training=sorted({str(x.dtype) for x in jax.tree.leaves(low_end)
                                           if jnp.issubdtype(x.dtype, jnp.floating)}),
             backend=jax.default_backend(), device=jax.devices()[0].device_kind,
             cpu=platform.processor() or platform.machine(), jax=jax.__version__)
  return out


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--num-fp16-res', type=int, default=4, help='top resolutions in reduced precision')
  parser.add_argument('--dtype', default='bfloat16', choices=('bfloat16', 'float16'))
  parser.add_argument('--steps', type=int, default=300, help='training iterations per precision')
  args = parser.parse_args()
  print(json.dumps(run(args.num_fp16_res, args.dtype, args.steps)), flush=True)


if __name__ == '__main__':
  main()
