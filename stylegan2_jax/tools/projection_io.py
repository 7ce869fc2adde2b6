"""``stylegan2-jax project``: target images in, the official projector's files out.

    stylegan2-jax project --network N --target img.png --outdir out/ --lpips vgg.pth --vgg16 vgg16-397923af.pth

Writes, as the official ``projector.py``: ``target.png`` (the target cropped
and resized as the network sees it), ``proj.png`` (the projection),
``projected_w.npz`` (``w`` [1, num_ws, w_dim], plus the optimized noise maps as
``noise/<layer>``, which the official tools ignore) and ``proj.mp4`` (target and
projection side by side at every step), plus ``projection.json`` (arguments,
final LPIPS distance, per-step distances). With several targets each gets its
own subdirectory named after the file.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Sequence

import jax
import numpy as np

from stylegan2_jax.data.image_prep import decode_image, transform_image
from stylegan2_jax.sampling import save_image, to_uint8
from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.tools.projection import ProjectionResult, ProjectionSettings, Projector
from stylegan2_jax.tools.render import Renderer, write_args
from stylegan2_jax.tools.video import VideoWriter

NOISE_PREFIX = 'noise/'


def load_target(path: str | pathlib.Path, resolution: int, channels: int) -> np.ndarray:
  """An image file as the official projector prepares it: center crop to a square, Lanczos resize -> HWC uint8
  (decoded as the dataset tool does: transparency over white, 16-bit scaled)."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'target image {path} does not exist')
  try:
    image = decode_image(path.read_bytes(), channels)
  except OSError as e:
    raise ValueError(f'cannot read {path} as an image: {e}') from e
  return transform_image(image, resolution, 'center-crop')


def save_projected_w(path: str | pathlib.Path, ws: np.ndarray, noise: dict[str, np.ndarray] | None = None) -> None:
  """``np.savez(path, w=ws [N, num_ws, w_dim], noise/<layer>=[N, r, r])`` (the official file plus noise maps)."""
  arrays = {f'{NOISE_PREFIX}{k}': np.asarray(v, np.float32) for k, v in (noise or {}).items()}
  np.savez(path, w=np.asarray(ws, np.float32), **arrays)


def load_projected_w(path: str | pathlib.Path, G) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """(ws [N, num_ws, w_dim], noise maps {layer: [N, r, r]} or {}) from a ``projected_w.npz`` (or a ``.npy`` of
  ws alone), checked against G."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'projected w file {path} does not exist')
  if path.suffix == '.npy':  # a bare ws array, as the browser demo downloads
    ws, noise = np.asarray(np.load(path, allow_pickle=False), np.float32), {}
  else:
    with np.load(path, allow_pickle=False) as data:
      if 'w' not in data:
        raise ValueError(f'{path} has no array "w" (expected the projector\'s projected_w.npz)')
      ws = np.asarray(data['w'], np.float32)
      noise = {k[len(NOISE_PREFIX):]: np.asarray(data[k], np.float32) for k in data.files
               if k.startswith(NOISE_PREFIX)}
  if ws.ndim != 3 or ws.shape[1:] != (G.num_ws, G.w_dim):
    raise ValueError(f'{path} holds w of shape {ws.shape}; this network needs [N, {G.num_ws}, {G.w_dim}]')
  return ws, noise


def render_projected(net: LoadedNetwork, ws: np.ndarray, noise: dict[str, np.ndarray] | None,
                     noise_mode: str = 'const') -> np.ndarray:
  """HWC uint8 images of ws; the projected noise maps replace the network's constant noise when given."""
  G = net.module
  noise_inputs = {k: np.asarray(v)[:, None] for k, v in noise.items()} if noise and noise_mode == 'const' else None
  synth = jax.jit(lambda v, ws, n: to_uint8(G.apply(v, ws, noise_mode, n, method=G.synthesize)))
  return np.asarray(synth(net.variables, np.asarray(ws, np.float32), noise_inputs))

def target_dirs(targets: Sequence[str | pathlib.Path], outdir: str | pathlib.Path) -> list[pathlib.Path]:
  """Where each target's files go: ``outdir`` for one target, ``outdir/<file stem>`` for several."""
  outdir = pathlib.Path(outdir)
  if len(targets) == 1:
    return [outdir]
  stems = [pathlib.Path(t).stem for t in targets]
  if len(set(stems)) != len(stems):
    raise ValueError('several targets share a file name; give targets with distinct names')
  return [outdir / stem for stem in stems]


def project_to_dir(renderer: Renderer, targets: Sequence[str | pathlib.Path], outdir: str | pathlib.Path,
                   lpips_variables: dict, settings: ProjectionSettings = ProjectionSettings(),
                   video: bool = True, progress: bool = True, lpips_files: Sequence[str] = ()) -> list[dict]:
  """Projects each target image into ``renderer``'s network and writes the official files (module docstring);
  returns one record per target."""
  if not targets:
    raise ValueError('give at least one target image')
  dirs = target_dirs(targets, outdir)
  net, class_idx = renderer.net, renderer.class_idx
  G = net.module
  images = np.stack([load_target(t, G.img_resolution, G.img_channels) for t in targets])
  for d, image in zip(dirs, images):
    d.mkdir(parents=True, exist_ok=True)
    save_image(image, d / 'target.png')
  projector = Projector(net, lpips_variables, settings, class_idx)
  writers = [VideoWriter(d / 'proj.mp4', fps=10) for d in dirs] if video else []

  def side_by_side(step, frames):  # pylint: disable=unused-argument
    for writer, target, frame in zip(writers, images, frames):
      writer.append(np.concatenate([target, frame], axis=1))

  try:
    result = projector.project(images, progress=progress, on_frame=side_by_side if video else None)
  finally:
    for writer in writers:
      writer.close()
  # One image per call, as `generate --projected-w` renders each saved file: XLA may round a batch of two
  # differently from a batch of one, and proj.png must be exactly what the saved projection renders to.
  projections = [render_projected(net, result.ws[i:i + 1], {k: v[i:i + 1] for k, v in result.noise.items()})[0]
                 for i in range(len(targets))]
  return [_write_result(d, i, t, result, projections[i], writers[i].path if video else None, renderer.source,
                        settings, class_idx, lpips_files)
          for i, (d, t) in enumerate(zip(dirs, targets))]


def _write_result(d: pathlib.Path, i: int, target, result: ProjectionResult, projection: np.ndarray, video_path,
                  source: dict, settings: ProjectionSettings, class_idx, lpips_files) -> dict:
  noise = {k: v[i:i + 1] for k, v in result.noise.items()}
  save_projected_w(d / 'projected_w.npz', result.ws[i:i + 1], noise)
  save_image(projection, d / 'proj.png')
  record = dict(target=str(target), outdir=str(d), distance=float(result.distance[i]),
                video=str(video_path) if video_path else None)
  write_args(d / 'projection.json', tool='project', **source, class_idx=class_idx, lpips=list(lpips_files), settings=dataclasses.asdict(settings), **record,
             dist_per_step=[float(x) for x in result.history['dist'][:, i]])
  return record


PROJECTED_W_NOISE_MODES = ('const', 'none')  # a projection is reproducible only without random noise


def check_projected_w_noise_mode(noise_mode: str) -> str:
  """``noise_mode`` if ``--projected-w`` can render with it, else one clear ``ValueError`` naming the flag."""
  if noise_mode not in PROJECTED_W_NOISE_MODES:
    raise ValueError(f"--projected-w renders with noise mode 'const' or 'none', got {noise_mode!r}")
  return noise_mode


def generate_from_projected_w(net: LoadedNetwork, path: str | pathlib.Path, outdir: str | pathlib.Path,
                              noise_mode: str = 'const') -> list[pathlib.Path]:
  """Renders every w of a ``projected_w.npz`` as ``outdir/proj{idx:02d}.png`` (the official generate.py names),
  with the projected noise maps when the file has them and ``noise_mode`` is 'const'."""
  check_projected_w_noise_mode(noise_mode)
  ws, noise = load_projected_w(path, net.module)
  outdir = pathlib.Path(outdir)
  outdir.mkdir(parents=True, exist_ok=True)
  paths = []
  for idx, image in enumerate(render_projected(net, ws, noise, noise_mode)):
    paths.append(outdir / f'proj{idx:02d}.png')
    save_image(image, paths[-1])
  return paths
