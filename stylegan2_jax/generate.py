"""Generate images from seeds, reproducing the official ``generate.py`` output for a network.

Latents follow the official tool exactly: ``z = np.random.RandomState(seed).randn(1, z_dim)``;
images are saved as ``clip(img * 127.5 + 128, 0, 255)`` truncated to uint8, as
``seed{seed:04d}.png``. Batches are sharded over all devices.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from typing import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import PIL.Image
from tqdm import tqdm

from stylegan2_jax.interop.official import LoadedNetwork
from stylegan2_jax.networks.generator import noise_layers
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


def load_generator(path: str | os.PathLike, checkpoint: str = 'latest') -> LoadedNetwork:
  """Loads the generator to sample from (``G_ema``, else ``G``): a training workdir (``checkpoint``: 'latest',
  'best' or a step), an official or TF1 pickle, a rosinality checkpoint or an export directory."""
  from stylegan2_jax.interop.formats import load_generator_any  # pylint: disable=import-outside-toplevel
  return load_generator_any(path, checkpoint)


def seeded_noise(names: Sequence[tuple[str, int]], seeds: jnp.ndarray) -> dict[str, jnp.ndarray]:
  """Per-image noise inputs {name: [N, 1, r, r]}: layer ``i`` from ``fold_in(jax.random.key(seed), i)``."""
  keys = jax.vmap(jax.random.key)(seeds)
  return {name: jax.vmap(lambda k, i=i, r=r: jax.random.normal(jax.random.fold_in(k, i), (1, r, r)))(keys)
          for i, (name, r) in enumerate(names)}


def generate_images(net: LoadedNetwork, seeds: Sequence[int], truncation_psi: float = 1.0,
                    truncation_cutoff: int | None = None, noise_mode: str = 'const',
                    class_idx: int | None = None, batch_size: int = 8,
                    progress: bool = True) -> Iterable[tuple[int, np.ndarray]]:
  """Yields ``(seed, HWC uint8 image)`` for each seed, batched over all devices.

  With ``noise_mode='random'`` the noise of each image is drawn from
  ``jax.random.key(seed)``, so an image depends only on its seed.
  """
  G, variables = net.module, net.variables
  mesh = data_mesh()
  per_step = round_up(max(batch_size, 1), mesh.size)
  variables = jax.device_put(variables, replicated(mesh))
  names = noise_layers(G.img_resolution, G.synthesis_kwargs.get('use_noise', True))

  @jax.jit
  def run(variables, z, c, seeds):
    noise = seeded_noise(names, seeds) if noise_mode == 'random' and names else None
    mode = 'random' if noise is not None else ('none' if noise_mode == 'random' else noise_mode)
    ws = G.apply(variables, z, c, truncation_psi, truncation_cutoff, method=G.map)
    return to_uint8(G.apply(variables, ws, mode, noise, method=G.synthesize))

  arrays = (seed_latents(seeds, G.z_dim), class_labels(len(seeds), G.c_dim, class_idx), np.asarray(seeds, np.uint32))
  batches = padded_batches(lambda *a: run(variables, *a), arrays, per_step, batch_sharding(mesh))
  with tqdm(total=len(seeds), desc='generate', unit='img', disable=not progress) as bar:
    for start, images in zip(range(0, len(seeds), per_step), batches):
      for seed, image in zip(seeds[start:start + per_step], images):
        yield seed, image
      bar.update(len(images))


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
  """Saves an HWC uint8 image (1, 3 or 4 channels) as PNG."""
  channels = image.shape[-1]
  if channels not in _IMAGE_MODES:
    raise ValueError(f'cannot save a {channels}-channel image')
  PIL.Image.fromarray(image[..., 0] if channels == 1 else image, _IMAGE_MODES[channels]).save(path)


def generate_to_dir(network: str | os.PathLike, seeds: Sequence[int], outdir: str | os.PathLike,
                    truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                    noise_mode: str = 'const', class_idx: int | None = None, batch_size: int = 8,
                    progress: bool = True, checkpoint: str = 'latest') -> list[pathlib.Path]:
  """Writes ``outdir/seed{seed:04d}.png`` per seed and ``outdir/generate_args.json``; returns the PNG paths."""
  if noise_mode not in ('const', 'random', 'none'):
    raise ValueError(f"noise mode must be 'const', 'random' or 'none', got {noise_mode!r}")
  net = load_generator(network, checkpoint)
  outdir = pathlib.Path(outdir)
  outdir.mkdir(parents=True, exist_ok=True)
  args = dict(network=str(network), checkpoint=checkpoint, seeds=list(seeds), truncation_psi=truncation_psi,
              truncation_cutoff=truncation_cutoff, noise_mode=noise_mode, class_idx=class_idx)
  (outdir / 'generate_args.json').write_text(json.dumps(args, indent=1))
  paths = []
  for seed, image in generate_images(net, seeds, truncation_psi, truncation_cutoff, noise_mode, class_idx,
                                     batch_size, progress):
    path = outdir / f'seed{seed:04d}.png'
    save_image(image, path)
    paths.append(path)
  return paths
