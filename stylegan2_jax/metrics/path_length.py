"""Perceptual path length (Karras et al. 2019), as ``stylegan2-ada-pytorch/metrics/perceptual_path_length.py``.

For each sample: two latents, a point ``t`` on the path between them (``t = 0``
for ``sampling='end'``) and a second point ``epsilon`` further; both images share
one random noise draw; the distance between them divided by ``epsilon^2``.
Images are optionally cropped to the face (``crop``, FFHQ), box-downsampled to
256 if larger, and compared with LPIPS; the metric is the mean after dropping
the 1% tails (:func:`metric_math.path_length_from_distances`).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from stylegan2_jax.sampling import seeded_noise
from stylegan2_jax.metrics.features import draw_labels, fetch_global, global_batch, jit_once
from stylegan2_jax.sharding import batch_sharding, replicated, round_up


def slerp(a: jnp.ndarray, b: jnp.ndarray, t: jnp.ndarray) -> jnp.ndarray:
  """Spherical interpolation of (normalised) vectors along the last axis, as the official helper."""
  a = a / jnp.linalg.norm(a, axis=-1, keepdims=True)
  b = b / jnp.linalg.norm(b, axis=-1, keepdims=True)
  d = jnp.sum(a * b, axis=-1, keepdims=True)
  p = t * jnp.arccos(d)
  c = b - d * a
  c = c / jnp.linalg.norm(c, axis=-1, keepdims=True)
  d = a * jnp.cos(p) + c * jnp.sin(p)
  return d / jnp.linalg.norm(d, axis=-1, keepdims=True)


def prepare_for_lpips(img: jnp.ndarray, crop: bool) -> jnp.ndarray:
  """NCHW [-1, 1] -> the official PPL view: face crop (optional), box-downsample to 256, 3 channels."""
  if crop:
    c = img.shape[2] // 8
    img = img[:, :, c * 3:c * 7, c * 2:c * 6]
  factor = img.shape[2] // 256
  if factor > 1:
    n, ch, h, w = img.shape
    img = img.reshape(n, ch, h // factor, factor, w // factor, factor).mean(axis=(3, 5))
  return jnp.repeat(img, 3, axis=1) if img.shape[1] == 1 else img


def path_length_step(map_fn: Callable, synth_fn: Callable, distance_fn: Callable, z: jnp.ndarray, c: jnp.ndarray,
                     t: jnp.ndarray, noise, epsilon: float, space: str = 'w', crop: bool = False) -> jnp.ndarray:
  """Per-sample ``distance(img(t), img(t + eps)) / eps^2`` for latent pairs ``z`` [N, 2, z_dim].

  ``map_fn(z, c) -> ws``, ``synth_fn(ws, noise) -> NCHW`` and ``distance_fn(img0, img1) -> [N]``
  are the network's pieces, so the computation can be checked with simple ones.
  """
  z0, z1 = z[:, 0], z[:, 1]
  if space == 'w':
    w0, w1 = map_fn(z0, c), map_fn(z1, c)
    tt = t[:, None, None]
    wt0, wt1 = w0 + (w1 - w0) * tt, w0 + (w1 - w0) * (tt + epsilon)
  else:
    zt0, zt1 = slerp(z0, z1, t[:, None]), slerp(z0, z1, t[:, None] + epsilon)
    wt0, wt1 = map_fn(zt0, c), map_fn(zt1, c)
  images = synth_fn(jnp.concatenate([wt0, wt1]), noise)
  images = prepare_for_lpips(images, crop)
  n = z.shape[0]
  return distance_fn(images[:n], images[n:]) / epsilon ** 2


def path_length_distances(G, G_variables, lpips_apply: Callable, lpips_variables, mesh, num_samples: int,
                          labels: np.ndarray | None = None, epsilon: float = 1e-4, space: str = 'w',
                          sampling: str = 'end', crop: bool = False, batch_size: int = 16, seed: int = 0,
                          progress: bool = True, compiled: dict | None = None) -> np.ndarray:
  """The per-sample PPL distances of a generator, batched over the mesh (LPIPS as the distance).

  ``compiled``: a dict in which the jitted step is kept for later calls with the
  same generator, mesh, distance and settings (repeated evaluations in training).
  """
  if space not in ('z', 'w') or sampling not in ('full', 'end'):
    raise ValueError(f'space must be z or w and sampling full or end, got {space!r}, {sampling!r}')
  side = G.img_resolution // 8 * 4 if crop else G.img_resolution
  if side < 16:
    raise ValueError(f'PPL compares images with LPIPS-VGG16, which needs at least 16x16 pixels; this generator\'s '
                     f'{G.img_resolution}px images give {side}px{" after the face crop" if crop else ""}')
  names = G.noise_layers
  per_step = round_up(batch_size, mesh.size)

  def pair_distances(g_vars, l_vars, z, c, t, seeds):
    noise = {name: jnp.tile(n, (2, 1, 1, 1)) for name, n in seeded_noise(names, seeds).items()} or None  # one per pair
    map_fn = lambda z, c: G.apply(g_vars, z, c, method=G.map)  # noqa: E731
    synth_fn = lambda ws, noise: G.apply(g_vars, ws, 'random' if noise else 'none', noise,  # noqa: E731
                                         method=G.synthesize)
    distance_fn = lambda a, b: lpips_apply(l_vars, a, b)  # noqa: E731
    return path_length_step(map_fn, synth_fn, distance_fn, z, c, t, noise, epsilon, space, crop)

  run = jit_once({} if compiled is None else compiled, (G, mesh, lpips_apply, epsilon, space, crop),
                 lambda: jax.jit(pair_distances, out_shardings=batch_sharding(mesh)))
  g_vars = jax.device_put(G_variables, replicated(mesh))
  l_vars = jax.device_put(lpips_variables, replicated(mesh))
  rng = np.random.RandomState(seed)
  distances = []
  with tqdm(total=num_samples, desc='path length', unit='pair', disable=not progress) as bar:
    done = 0
    while done < num_samples:
      z = rng.randn(per_step, 2, G.z_dim).astype(np.float32)
      c = draw_labels(rng, labels, per_step, G.c_dim)
      t = (rng.rand(per_step) * (1 if sampling == 'full' else 0)).astype(np.float32)
      seeds = rng.randint(0, 2 ** 31, size=per_step).astype(np.uint32)
      out = run(g_vars, l_vars, *(global_batch(mesh, a) for a in (z, c, t, seeds)))
      distances.append(fetch_global(out))
      bar.update(min(per_step, num_samples - done))
      done += per_step
  return np.concatenate(distances)[:num_samples]
