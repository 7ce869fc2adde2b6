"""Latents to images for the creative tools: seeds -> ws, ws -> uint8 images batched over all devices, grids.

Seeds become latents as in the official tools (``RandomState(seed).randn(z_dim)``);
truncation is ``w_avg + psi * (w - w_avg)``. Images are rendered with constant
(or no) noise so that the same ws always give the same picture.
"""

from __future__ import annotations

import json
import pathlib
from typing import Sequence

import jax
import numpy as np

from stylegan2_jax.sampling import BatchedSampler, class_labels, seed_latents, to_uint8
from stylegan2_jax.networks.handle import LoadedNetwork

TOOL_NOISE_MODES = ('const', 'none')


class Renderer:
  """Maps seeds or z to ws and renders ws to HWC uint8 images, in device-sharded batches."""

  def __init__(self, net: LoadedNetwork, noise_mode: str = 'const', batch_size: int = 8, class_idx: int | None = None,
               progress: bool = True, source: dict | None = None):
    if noise_mode not in TOOL_NOISE_MODES:
      raise ValueError(f"noise mode must be one of {TOOL_NOISE_MODES} (the tools render reproducible images), "
                       f"got {noise_mode!r}")
    self.net, self.G = net, net.module
    self.noise_mode, self.class_idx, self.progress = noise_mode, class_idx, progress
    self.source = dict(source or {})  # where the network came from (network, checkpoint), for the tools' sidecars
    class_labels(1, self.G.c_dim, class_idx)  # a conditional network needs a valid --class before any work
    self.sampler = BatchedSampler(net.variables, batch_size, progress=progress)
    G = self.G
    self._synth = jax.jit(lambda v, ws: to_uint8(G.apply(v, ws, noise_mode, method=G.synthesize)))
    self._map = jax.jit(lambda v, z, c: G.apply(v, z, c, method=G.map))

  def record(self) -> dict:
    """The renderer's settings as sidecar-JSON fields: the network source, noise mode and class."""
    return dict(**self.source, noise_mode=self.noise_mode, class_idx=self.class_idx)

  @property
  def num_ws(self) -> int:
    """Number of per-layer ws the synthesis network takes."""
    return self.G.num_ws

  @property
  def w_avg(self) -> np.ndarray:
    """The tracked average w [w_dim]."""
    return np.asarray(self.net.variables['buffers']['mapping']['w_avg'])

  def ws_from_z(self, z: np.ndarray, truncation_psi: float = 1.0) -> np.ndarray:
    """z [N, z_dim] -> ws [N, num_ws, w_dim] (float32), truncated towards ``w_avg`` by ``truncation_psi``."""
    z = np.asarray(z, np.float32)
    c = class_labels(len(z), self.G.c_dim, self.class_idx)
    ws = np.concatenate(list(self.sampler.map(self._map, z, c)))
    return truncate(ws, self.w_avg, truncation_psi) if truncation_psi != 1 else ws

  def ws_from_seeds(self, seeds: Sequence[int], truncation_psi: float = 1.0) -> np.ndarray:
    """The official per-seed latents mapped to ws [len(seeds), num_ws, w_dim]."""
    return self.ws_from_z(seed_latents(seeds, self.G.z_dim), truncation_psi)

  def iter_images(self, ws: np.ndarray, desc: str | None = None):
    """ws [N, num_ws, w_dim] -> HWC uint8 images, yielded one device batch at a time (for long videos)."""
    ws = np.asarray(ws, np.float32)
    if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.G.w_dim):
      raise ValueError(f'ws must have shape [N, {self.num_ws}, {self.G.w_dim}] for this network, got {ws.shape}')
    for batch in self.sampler.map(self._synth, ws, desc=desc):
      yield from batch

  def images(self, ws: np.ndarray, desc: str | None = None) -> np.ndarray:
    """ws [N, num_ws, w_dim] -> HWC uint8 images [N, H, W, C]."""
    return np.stack(list(self.iter_images(ws, desc)))

def truncate(ws: np.ndarray, w_avg: np.ndarray, psi: float) -> np.ndarray:
  """``w_avg + psi * (ws - w_avg)`` (the official truncation trick on every layer)."""
  return (w_avg + psi * (ws - w_avg)).astype(np.float32)


def parse_layers(text: str, num_ws: int) -> list[int]:
  """'0-3,8' -> [0, 1, 2, 3, 8], checked against ``num_ws`` (ranges inclusive, as the official ``--styles``)."""
  layers = []
  for part in str(text).split(','):
    lo, _, hi = part.strip().partition('-')
    if not lo.isdigit() or (hi and not hi.isdigit()):
      raise ValueError(f'cannot parse layers {text!r}: use a list like 0-3,8')
    layers.extend(range(int(lo), int(hi or lo) + 1))
  bad = [i for i in layers if i >= num_ws]
  if bad or not layers:
    raise ValueError(f'layers {text!r} are outside 0-{num_ws - 1} (this network has {num_ws} ws)')
  return sorted(set(layers))


def layer_groups(num_ws: int) -> dict[str, list[int]]:
  """The paper's coarse (4-8 px), middle (16-32 px) and fine (64 px and up) ws of a generator.

  At 1024 px these are 0-3, 4-7 and 8-17. Networks of 32 px and less have no
  fine layers; there the upper half of the ws counts as fine.
  """
  if num_ws > 8:
    return dict(coarse=list(range(4)), middle=list(range(4, 8)), fine=list(range(8, num_ws)))
  half = num_ws // 2
  return dict(coarse=list(range(half)), middle=[], fine=list(range(half, num_ws)))


def write_args(path: str | pathlib.Path, **args) -> None:
  """Writes the arguments of a tool run as a sidecar JSON, so the result can be made again."""
  pathlib.Path(path).write_text(json.dumps(args, indent=1, default=str))


def check_png_path(out: str | pathlib.Path) -> pathlib.Path:
  """``out`` as a path, refused (naming ``--out``) unless it names a ``.png`` file."""
  out = pathlib.Path(out)
  if out.suffix.lower() != '.png':
    raise ValueError(f'--out must be a .png file, got {out}')
  return out
