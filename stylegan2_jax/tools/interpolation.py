"""Interpolation between seeds: looping videos and frame grids, linear in W or spherical in Z.

    stylegan2-jax interpolate --network N --seeds 0-5 --frames 60 --space w --trunc 0.7 --out walk.mp4

In W the seeds' (truncated) ws are blended linearly; in Z their latents are
blended along great circles (slerp) and each frame is mapped, then truncated.
A looping walk returns to the first seed and has ``len(seeds) * frames``
frames; an open one stops on the last seed with ``(len(seeds) - 1) * frames + 1``.
"""

from __future__ import annotations

import pathlib
from typing import Sequence

import numpy as np

from stylegan2_jax.sampling import image_grid, save_image, seed_latents
from stylegan2_jax.tools.render import Renderer, write_args
from stylegan2_jax.tools.video import write_video

SPACES = ('w', 'z')


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Spherical interpolation between rows of ``a`` and ``b`` [D] at fractions ``t`` [T] -> [T, D]."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  t = np.asarray(t, np.float64)[:, None]
  cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
  omega = np.arccos(np.clip(cos, -1.0, 1.0))
  if np.sin(omega) < 1e-6:  # (anti)parallel: the circle is not defined, fall back to a line
    return (1 - t) * a + t * b
  return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def _path(points: np.ndarray, frames: int, loop: bool, blend) -> np.ndarray:
  """Frames walking through ``points`` [K, ...] with ``frames`` per transition."""
  if frames < 1:
    raise ValueError(f'frames per transition must be >= 1, got {frames}')
  if len(points) < 2:
    raise ValueError('interpolation needs at least two seeds')
  pairs = [(i, i + 1) for i in range(len(points) - 1)] + ([(len(points) - 1, 0)] if loop else [])
  t = np.arange(frames) / frames
  out = [blend(points[i], points[j], t) for i, j in pairs]
  if not loop:
    out.append(points[-1][None])
  return np.concatenate(out).astype(np.float32)


def interpolation_ws(renderer: Renderer, seeds: Sequence[int], frames: int, space: str = 'w',
                     truncation_psi: float = 1.0, loop: bool = True) -> np.ndarray:
  """The ws of every frame of a walk through ``seeds`` -> [T, num_ws, w_dim]."""
  if space not in SPACES:
    raise ValueError(f"interpolation space must be 'w' or 'z', got {space!r}")
  if space == 'w':
    lerp = lambda a, b, t: a[None] + t.reshape(-1, 1, 1) * (b - a)[None]
    return _path(renderer.ws_from_seeds(seeds, truncation_psi), frames, loop, lerp)
  z = _path(seed_latents(seeds, renderer.G.z_dim), frames, loop, slerp)
  return renderer.ws_from_z(z, truncation_psi)


def interpolation_grid(renderer: Renderer, seeds: Sequence[int], steps: int, space: str = 'w',
                       truncation_psi: float = 1.0) -> np.ndarray:
  """One row per consecutive pair of seeds, ``steps`` images from the first to the second (both included)."""
  if steps < 2:
    raise ValueError(f'a grid row needs at least 2 steps, got {steps}')
  rows = []
  for a, b in zip(seeds[:-1], seeds[1:]):
    ws = interpolation_ws(renderer, [a, b], steps - 1, space, truncation_psi, loop=False)
    rows.append(renderer.images(ws))
  return image_grid(np.concatenate(rows), len(rows), steps)


def interpolate_to_files(renderer: Renderer, seeds: Sequence[int], out: str | pathlib.Path, frames: int = 60,
                         fps: float = 30.0, space: str = 'w', truncation_psi: float = 1.0, loop: bool = True,
                         grid: str | pathlib.Path | None = None, grid_steps: int = 8) -> dict[str, pathlib.Path]:
  """Writes the video ``out`` (.mp4, or .gif; .gif also where ffmpeg is missing), optionally a frame grid PNG,
  and a sidecar ``.json`` of the arguments beside the video. Returns {'video': path, 'grid': path}."""
  ws = interpolation_ws(renderer, seeds, frames, space, truncation_psi, loop)
  written = dict(video=write_video(renderer.iter_images(ws, desc='frames'), out, fps))
  if grid:
    written['grid'] = pathlib.Path(grid)
    written['grid'].parent.mkdir(parents=True, exist_ok=True)
    save_image(interpolation_grid(renderer, seeds, grid_steps, space, truncation_psi), written['grid'])
  write_args(written['video'].with_suffix('.json'), tool='interpolate', **renderer.record(), seeds=list(seeds),
             frames=frames, num_frames=len(ws), fps=fps, space=space, trunc=truncation_psi, loop=loop,
             grid=str(grid) if grid else None, grid_steps=grid_steps)
  return written
