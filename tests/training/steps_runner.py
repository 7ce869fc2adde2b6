"""Runs a few training iterations of a tiny G/D on however many devices this process has (used by tests).

    python tests/training/steps_runner.py OUT.npz NUM_STEPS MBSTD_SHARDS [BATCH_ROUNDS BATCH [ADA_KIMG]]

Writes G, D, G_ema parameters and pl_mean after the steps, plus the sharding of drawn latents.
With ``ADA_KIMG`` (> 0), D sees ``bgc`` augmentations and ADA adjusts p every 2 iterations
(starting at 0.5, moving ``batch * 2 / (ADA_KIMG * 1000)`` each time); ``augment_p`` is written too.
"""

from __future__ import annotations

import sys

import jax
import numpy as np
from flax import traverse_util

from stylegan2_jax.training import state as train_state
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.sharding import batch_sharding, data_mesh, replicated
from stylegan2_jax.augment import preset
from stylegan2_jax.training import augmentation
from stylegan2_jax.training.build import default_loss_settings
from stylegan2_jax.training.steps import TrainSteps

BATCH = 16
G_KWARGS = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
                synthesis_kwargs=dict(channel_base=128, channel_max=16))
D_KWARGS = dict(c_dim=0, img_resolution=16, img_channels=3, channel_base=128, channel_max=16)


def ada_augment(ada_kimg: float) -> augmentation.TrainingAugment:
  """ADA with the ``bgc`` pipe from p = 0.5, adjusted every 2 iterations by ``batch * 2 / (ada_kimg * 1000)``."""
  return augmentation.TrainingAugment(pipe=preset('bgc'), adaptive=True, initial_p=0.5, ada_target=0.6,
                                      ada_interval=2, ada_kimg=ada_kimg)


def run_steps(num_steps: int, mbstd_shards: int, batch_rounds: int = 1, batch: int = BATCH,
              ada_kimg: float = 0.0) -> dict[str, np.ndarray]:
  """Params after ``num_steps`` iterations (every phase at step 0), flattened to 'G/...', 'D/...', 'G_ema/...'."""
  G, D = generator_from_kwargs(G_KWARGS), discriminator_from_kwargs(D_KWARGS)
  G_opt, D_opt = train_state.lazy_adam(0.0025, 2), train_state.lazy_adam(0.0025, 2)
  settings = default_loss_settings(batch, r1_gamma=1.0, G_reg_interval=2, D_reg_interval=2, ema_kimg=0.01,
                          mbstd_shards=mbstd_shards, batch_rounds=batch_rounds)
  mesh = data_mesh()
  augment = ada_augment(ada_kimg) if ada_kimg else None
  steps = TrainSteps(G, D, G_opt, D_opt, settings, mesh, augment)
  fields = augmentation.state_fields(augment)
  state = jax.jit(lambda k: train_state.create_train_state(G, D, G_opt, D_opt, k, augment_fields=fields),
                  out_shardings=replicated(mesh))(jax.random.PRNGKey(3))
  reals = np.random.RandomState(0).randint(0, 256, (num_steps, batch, 3, 16, 16)).astype(np.uint8)
  for step in range(num_steps):
    real = jax.device_put(reals[step], batch_sharding(mesh))
    for phase in steps.phases_at(step):
      state, _ = steps.run_phase(phase, state, real)
    if steps.ada_due(step + 1):
      state = steps.ada_adjust(state)
  out = {}
  for name in ('G', 'D', 'G_ema'):
    flat = traverse_util.flatten_dict(jax.device_get(getattr(state, name)['params']))
    out.update({f'{name}/' + '/'.join(k): np.asarray(v) for k, v in flat.items()})
  out['pl_mean'] = np.asarray(state.pl_mean)
  out['w_avg'] = np.asarray(state.G['buffers']['mapping']['w_avg'])
  z = jax.jit(lambda k: steps.draw(k, BATCH)['z'])(jax.random.PRNGKey(0))
  out['z_axis'] = np.asarray(str((tuple(z.sharding.spec) or (None,))[0]))  # mesh axis splitting the batch
  out['devices'] = np.asarray(jax.device_count())
  if augment is not None:
    out['augment_p'] = np.asarray(state.augment_p)
  return out


if __name__ == '__main__':
  jax.config.update('jax_default_matmul_precision', 'highest')
  path, num_steps, shards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
  extra = sys.argv[4:]
  np.savez(path, **run_steps(num_steps, shards, *map(int, extra[:2]), *map(float, extra[2:])))
