"""Latent maps: a 2D grid blending four corner seeds, on the whole latent or on a group of layers.

    stylegan2-jax latent-map --network N --corners 10,20,30,40 --size 8 --mode content --out content.png

``mode='all'`` blends every w (the "map of faces"); ``'content'`` blends only
the coarse ws (identity, pose) and ``'style'`` only the fine ws (colour,
light), as the content and style pads of NVIDIA's painting demo; the other ws
come from ``base_seed`` (default: the average of the four corners). Cell
(i, j) of a ``size`` x ``size`` map is the bilinear blend at ``u = j/(size-1)``
(left to right) and ``v = i/(size-1)`` (top to bottom) of the corners in the
order top-left, top-right, bottom-left, bottom-right.
"""

from __future__ import annotations

import pathlib
from typing import Sequence

import numpy as np

from stylegan2_jax.sampling import image_grid, save_image
from stylegan2_jax.tools.render import Renderer, check_png_path, layer_groups, parse_layers, write_args

MODES = {'all': None, 'content': 'coarse', 'style': 'fine'}


def bilinear_ws(corners: np.ndarray, size: int) -> np.ndarray:
  """Corners [4, ...] (tl, tr, bl, br) -> [size * size, ...] row-major bilinear blends."""
  if size < 2:
    raise ValueError(f'a latent map needs size >= 2, got {size}')
  tl, tr, bl, br = np.asarray(corners, np.float64)
  u = np.linspace(0, 1, size)[None, :]
  v = np.linspace(0, 1, size)[:, None]
  expand = lambda a: a.reshape(a.shape + (1,) * tl.ndim)
  u, v = expand(u), expand(v)
  out = (1 - u) * (1 - v) * tl + u * (1 - v) * tr + (1 - u) * v * bl + u * v * br
  return out.reshape((size * size,) + tl.shape).astype(np.float32)


def map_layers(num_ws: int, mode: str, layers: str | None = None) -> list[int]:
  """The ws a map blends: ``layers`` if given ('0-3'), else all, the coarse or the fine ones by ``mode``."""
  if layers:
    return parse_layers(layers, num_ws)
  if mode not in MODES:
    raise ValueError(f'latent map mode must be one of {sorted(MODES)}, got {mode!r}')
  return list(range(num_ws)) if MODES[mode] is None else layer_groups(num_ws)[MODES[mode]]


def latent_map_ws(renderer: Renderer, corners: Sequence[int], size: int, layers: Sequence[int],
                  truncation_psi: float = 1.0, base_seed: int | None = None) -> np.ndarray:
  """The ws of the map's cells -> [size * size, num_ws, w_dim]."""
  if len(corners) != 4:
    raise ValueError(f'a latent map needs 4 corner seeds (top-left, top-right, bottom-left, bottom-right), '
                     f'got {len(corners)}')
  corner_ws = renderer.ws_from_seeds(corners, truncation_psi)
  base = (renderer.ws_from_seeds([base_seed], truncation_psi)[0] if base_seed is not None
          else corner_ws.mean(axis=0))
  cells = np.repeat(base[None], size * size, axis=0)
  cells[:, list(layers)] = bilinear_ws(corner_ws[:, list(layers)], size)
  return cells


def latent_map_to_file(renderer: Renderer, corners: Sequence[int], out: str | pathlib.Path, size: int = 8,
                       mode: str = 'all', layers: str | None = None, truncation_psi: float = 1.0,
                       base_seed: int | None = None) -> pathlib.Path:
  """Writes the map PNG ``out`` and a sidecar ``.json`` of the arguments; returns the PNG path."""
  out = check_png_path(out)
  blended = map_layers(renderer.num_ws, mode, layers)
  if not blended:
    raise ValueError(f'this {renderer.G.img_resolution}px network has no {MODES[mode]} layers; pass --layers')
  ws = latent_map_ws(renderer, corners, size, blended, truncation_psi, base_seed)
  out.parent.mkdir(parents=True, exist_ok=True)
  save_image(image_grid(renderer.images(ws, desc='latent map'), size, size), out)
  write_args(out.with_suffix('.json'), tool='latent-map', **renderer.record(), corners=list(corners), size=size,
             mode=mode, layers=blended, trunc=truncation_psi, base_seed=base_seed)
  return out
