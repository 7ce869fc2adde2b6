"""Sampling a generator: seeds -> latents, labels and noise, images as uint8, and one batched sampler over the mesh.

Latents follow the official tools exactly: ``z = np.random.RandomState(seed).randn(1, z_dim)``;
images become ``clip(img * 127.5 + 128, 0, 255)`` truncated to uint8. :class:`BatchedSampler`
runs a jitted function of the variables over host arrays in device-sharded batches;
generation, the creative tools' renderer and the training sample grid all use it.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Iterable, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import PIL.Image
from tqdm import tqdm

from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.sharding import batch_sharding, data_mesh, padded_batches, replicated, round_up

_IMAGE_MODES = {1: 'L', 3: 'RGB', 4: 'RGBA'}


def parse_seeds(text: str) -> list[int]:
  """'0-3,42' -> [0, 1, 2, 3, 42] (ranges inclusive, as the official tool)."""
  seeds = []
  for part in text.split(','):
    part = part.strip()
    match = re.fullmatch(r'(\d+)-(\d+)', part)
    if match:
      lo, hi = int(match[1]), int(match[2])
      if hi < lo:
        raise ValueError(f'seed range {part!r} is empty')
      seeds.extend(range(lo, hi + 1))
    elif part.isdigit():
      seeds.append(int(part))
    else:
      raise ValueError(f'cannot parse seeds {text!r}: use a list like 0-7,42')
  return seeds


def seed_latents(seeds: Sequence[int], z_dim: int) -> np.ndarray:
  """The official per-seed latents, [len(seeds), z_dim] float32."""
  return np.concatenate([np.random.RandomState(s).randn(1, z_dim) for s in seeds]).astype(np.float32)


def class_labels(n: int, c_dim: int, class_idx: int | None) -> np.ndarray:
  """One-hot labels for a conditional network (zeros [n, 0] when unconditional)."""
  if c_dim == 0:
    return np.zeros((n, 0), np.float32)
  if class_idx is None:
    raise ValueError(f'this network is conditional ({c_dim} classes): pass --class N')
  if not 0 <= class_idx < c_dim:
    raise ValueError(f'--class {class_idx} is out of range for a network with {c_dim} classes')
  labels = np.zeros((n, c_dim), np.float32)
  labels[:, class_idx] = 1
  return labels


def to_uint8(img: jnp.ndarray) -> jnp.ndarray:
  """NCHW images in [-1, 1] -> NHWC uint8, exactly as the official tools convert them."""
  return jnp.clip(jnp.transpose(img, (0, 2, 3, 1)) * 127.5 + 128, 0, 255).astype(jnp.uint8)


def seeded_noise(names: Sequence[tuple[str, int]], seeds: jnp.ndarray) -> dict[str, jnp.ndarray]:
  """Per-image noise inputs {name: [N, 1, r, r]}: layer ``i`` from ``fold_in(jax.random.key(seed), i)``."""
  keys = jax.vmap(jax.random.key)(seeds)
  return {name: jax.vmap(lambda k, i=i, r=r: jax.random.normal(jax.random.fold_in(k, i), (1, r, r)))(keys)
          for i, (name, r) in enumerate(names)}


class BatchedSampler:
  """Runs jitted ``fn(variables, *batch)`` over the leading axis of host arrays, in padded device-sharded batches.

  The variables are placed on every device once; each step takes ``batch_size``
  rows (rounded up to a multiple of the devices), the last one zero-padded and
  its result trimmed, so any count of rows works on any number of devices.
  """

  def __init__(self, variables, batch_size: int = 8, mesh=None, progress: bool = True):
    self.mesh = mesh or data_mesh()
    self.per_step = round_up(max(int(batch_size), 1), self.mesh.size)
    self.variables = jax.device_put(variables, replicated(self.mesh))
    self.progress = progress

  def map(self, fn: Callable, *arrays: np.ndarray, desc: str | None = None) -> Iterator[np.ndarray]:
    """Yields ``fn(variables, *chunk)`` as numpy per batch (a tqdm bar named ``desc`` if given and enabled)."""
    with tqdm(total=len(arrays[0]), desc=desc, unit='img', disable=desc is None or not self.progress) as bar:
      for result in padded_batches(lambda *a: fn(self.variables, *a), arrays, self.per_step,
                                   batch_sharding(self.mesh)):
        bar.update(len(result))
        yield result


def generator_images(G, variables, z, c, seeds=None, truncation_psi: float = 1.0,
                     truncation_cutoff: int | None = None, noise_mode: str = 'const') -> jnp.ndarray:
  """``G(z, c)`` as NHWC uint8 (jittable). ``noise_mode='random'`` draws each image's noise from its ``seeds``
  entry (:func:`seeded_noise`), so an image depends only on its seed; a network without noise gets none."""
  names = G.noise_layers
  noise = seeded_noise(names, seeds) if noise_mode == 'random' and names else None
  mode = 'random' if noise is not None else ('none' if noise_mode == 'random' else noise_mode)
  ws = G.apply(variables, z, c, truncation_psi, truncation_cutoff, method=G.map)
  return to_uint8(G.apply(variables, ws, mode, noise, method=G.synthesize))


def generate_images(net: LoadedNetwork, seeds: Sequence[int], truncation_psi: float = 1.0,
                    truncation_cutoff: int | None = None, noise_mode: str = 'const',
                    class_idx: int | None = None, batch_size: int = 8,
                    progress: bool = True) -> Iterable[tuple[int, np.ndarray]]:
  """Yields ``(seed, HWC uint8 image)`` for each seed, batched over all devices (as the official generate.py)."""
  if noise_mode not in ('const', 'random', 'none'):
    raise ValueError(f"noise mode must be 'const', 'random' or 'none', got {noise_mode!r}")
  G = net.module
  run = jax.jit(lambda v, z, c, s: generator_images(G, v, z, c, s, truncation_psi, truncation_cutoff, noise_mode))
  sampler = BatchedSampler(net.variables, batch_size, progress=progress)
  arrays = (seed_latents(seeds, G.z_dim), class_labels(len(seeds), G.c_dim, class_idx), np.asarray(seeds, np.uint32))
  start = 0
  for images in sampler.map(run, *arrays, desc='generate'):
    yield from zip(seeds[start:start + len(images)], images)
    start += len(images)


def image_grid(images: np.ndarray, rows: int, cols: int, fill: int = 0) -> np.ndarray:
  """[rows * cols, H, W, C] uint8 (row-major; missing cells filled) -> one [rows*H, cols*W, C] image."""
  images = np.asarray(images)
  n, h, w, c = images.shape
  if n > rows * cols:
    raise ValueError(f'{n} images do not fit a {rows}x{cols} grid')
  images = np.concatenate([images, np.full((rows * cols - n, h, w, c), fill, images.dtype)])
  return images.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
  """Saves an HWC uint8 image (1, 3 or 4 channels) as PNG."""
  channels = image.shape[-1]
  if channels not in _IMAGE_MODES:
    raise ValueError(f'cannot save a {channels}-channel image')
  PIL.Image.fromarray(image[..., 0] if channels == 1 else image, _IMAGE_MODES[channels]).save(path)
