"""What the training loop writes and reads besides checkpoints: progress logs, sample grids, initial weights."""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import jax
import numpy as np
from PIL import Image

from stylegan2_jax.files import write_text_atomically
from stylegan2_jax.sampling import generator_images, image_grid, seed_latents
from stylegan2_jax.sharding import replicated
from stylegan2_jax.networks.config import abstract_variables


def check_writable_workdir(workdir: str | os.PathLike) -> None:
  """Creates ``workdir`` if needed; raises ValueError naming it if it is a file or cannot be written.

  Runs before the dataset is read or anything compiled, so a bad ``--workdir``
  costs one line, not a run that fails at its first write.
  """
  workdir = pathlib.Path(workdir)
  if workdir.exists() and not workdir.is_dir():
    raise ValueError(f'--workdir {workdir} is a file, not a directory')
  try:
    workdir.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix='.write-check-', dir=workdir)
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    raise ValueError(f'--workdir {workdir} cannot be written ({e.strerror or e})') from None


class RunLogger:
  """Per-tick progress to stdout, ``metrics.jsonl`` and TensorBoard; images into the workdir (process 0 only).

  With ``background_images`` the sample grids are fetched, encoded and written on
  a writer thread, in order; :meth:`flush_images` (and :meth:`close`) wait for them
  and raise the first write error.
  """

  def __init__(self, workdir: pathlib.Path, enabled: bool = True, background_images: bool = False):
    self.workdir, self.enabled = pathlib.Path(workdir), enabled
    self.writer = None
    self._writer_lock = threading.Lock()  # TensorBoard from the loop's thread and the image writer's
    self._image_thread = ThreadPoolExecutor(1, 'image-writer') if enabled and background_images else None
    self._image_writes: list[Future] = []
    if enabled:
      self.workdir.mkdir(parents=True, exist_ok=True)
      from tensorboardX import SummaryWriter
      self.writer = SummaryWriter(str(self.workdir), flush_secs=30)

  def drop_records_after(self, step: int) -> None:
    """Rewrites ``metrics.jsonl`` without its records past ``step`` (atomically), so a resumed run reads as one.

    The ticks and metrics logged after the checkpoint a run resumes from are
    logged again as the run repeats them. TensorBoard event files are append-only
    and keep both copies (TensorBoard shows the later one).
    """
    path = self.workdir / 'metrics.jsonl'
    if not self.enabled or not path.exists():
      return
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if _record_step(line) <= step]
    if len(kept) < len(lines):
      write_text_atomically(path, ''.join(kept))
      self.info(f'dropped {len(lines) - len(kept)} records past step {step} from {path}: the run repeats them')

  def info(self, message: str) -> None:
    """A line on stdout."""
    if self.enabled:
      print(message, flush=True)

  def tick(self, record: dict) -> None:
    """One tick's statistics: a progress line, a JSON line, TensorBoard scalars."""
    if not self.enabled:
      return
    losses = ' '.join(f'{k.split("/")[-1]} {v:.4f}' for k, v in record.items() if '/' in k and 'loss' in k)
    scores = ' '.join(f'{k.split("/")[0]}:{k.split("/")[-1]} {v:+.3f}' for k, v in record.items() if 'scores' in k)
    ada = ''.join(f'{name} {record[key]:{form}} ' for key, name, form in (('augment_p', 'p', '.3f'), ('rt', 'rt', '+.3f'))
                  if key in record)
    print(f'tick {record["tick"]:<4d} kimg {record["kimg"]:<8.1f} sec/kimg {record["sec_per_kimg"]:<7.2f} '
          f'img/s {record["img_per_sec"]:<7.1f} {losses} {scores} pl_mean {record["pl_mean"]:.4f} {ada}'
          f'checkpoint in {record["sec_to_checkpoint"]:.0f}s', flush=True)
    with open(self.workdir / 'metrics.jsonl', 'a') as f:
      f.write(json.dumps(record) + '\n')
    with self._writer_lock:
      for key, value in record.items():
        if key not in ('tick', 'step'):
          self.writer.add_scalar(key if '/' in key else f'progress/{key}', value, record['step'])

  def metric(self, record: dict, step: int) -> None:
    """One metric's results: a log line, a JSON line in ``metrics.jsonl``, TensorBoard ``Metrics/<key>``."""
    if not self.enabled:
      return
    values = ' '.join(f'{k} {v:.4g}' for k, v in record['results'].items())
    print(f'metric {record["metric"]:<12s} kimg {record["kimg"]:<8.1f} {values} ({record["total_time"]:.0f}s)',
          flush=True)
    with open(self.workdir / 'metrics.jsonl', 'a') as f:
      f.write(json.dumps(record) + '\n')
    with self._writer_lock:
      for key, value in record['results'].items():
        self.writer.add_scalar(f'Metrics/{key}', value, step)

  def image(self, name: str, grid: np.ndarray | Callable[[], np.ndarray], step: int) -> None:
    """Writes an HWC uint8 grid (or what ``grid()`` returns) as ``workdir/name`` and to TensorBoard.

    In the background mode it returns at once, after raising the error of an earlier write if one failed.
    """
    if not self.enabled:
      return
    if self._image_thread is None:
      self._write_image(name, grid, step)
      return
    self._raise_failed_writes(wait=False)
    self._image_writes.append(self._image_thread.submit(self._write_image, name, grid, step))

  def _write_image(self, name: str, grid, step: int) -> None:
    grid = np.asarray(grid() if callable(grid) else grid)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(self.workdir / name)
    with self._writer_lock:
      self.writer.add_image('samples', grid, step, dataformats='HWC')
    self.info(f'wrote {self.workdir / name}')

  def _raise_failed_writes(self, wait: bool) -> None:
    done = [f for f in self._image_writes if wait or f.done()]
    self._image_writes = [f for f in self._image_writes if f not in done]
    for future in done:
      future.result()  # raises the write's error

  def flush_images(self) -> None:
    """Waits for the sample grids being written; raises the first write error."""
    self._raise_failed_writes(wait=True)

  def close(self) -> None:
    """Waits for the images being written, then flushes TensorBoard events; raises a failed image write's error."""
    try:
      if self._image_thread is not None:
        self._image_thread.shutdown(wait=True)
        self.flush_images()
    finally:
      if self.writer is not None:
        self.writer.close()
      sys.stdout.flush()


def _record_step(line: str) -> float:
  """The ``step`` of a ``metrics.jsonl`` line; a line cut short by a kill counts as past every step."""
  try:
    return json.loads(line)['step']
  except (ValueError, KeyError, TypeError):
    return float('inf') if line.strip() else -1


def sample_grid_fn(G, config, mesh):
  """``grid(G_ema variables) -> fetch``, ``fetch() -> HWC uint8 grid`` of fixed latents (``grid_seed``), const
  noise, psi 1. ``grid`` dispatches the render; ``fetch`` waits for it (e.g. on :class:`RunLogger`'s writer)."""
  rows, cols = config.grid_rows, config.grid_cols
  z = seed_latents([config.grid_seed], G.z_dim * rows * cols).reshape(rows * cols, G.z_dim)
  c = np.eye(max(G.c_dim, 1), dtype=np.float32)[np.arange(rows * cols) % max(G.c_dim, 1)][:, :G.c_dim]
  # One replicated batch: every process gets the whole grid (multi-process runs included).
  render = jax.jit(lambda variables: generator_images(G, variables, z, c), out_shardings=replicated(mesh))

  def grid(variables) -> Callable[[], np.ndarray]:
    images = render(variables)
    return lambda: image_grid(np.asarray(jax.device_get(images)), rows, cols)
  return grid


def init_weights(path: str, G, D, logger: RunLogger, network_loader):
  """(G, D, G_ema variables) to start from, weights only, from any format ``network_loader(path)`` reads.

  A source without ``G`` starts G from its ``G_ema`` (and vice versa); one without
  ``D`` (e.g. a rosinality ``g_ema``-only file) leaves D freshly initialized.
  """
  nets = network_loader(path)
  if 'G' not in nets and 'G_ema' not in nets:
    raise ValueError(f'--config.init_from={path} holds no generator')
  nets.setdefault('G', nets.get('G_ema'))
  nets.setdefault('G_ema', nets['G'])
  loaded = {k: jax.device_get(n.variables) for k, n in nets.items()}
  for name, module in (('G', G), ('D', D), ('G_ema', G)):
    if name not in loaded:
      continue
    want = jax.tree.map(lambda a: (a.shape, str(a.dtype)), abstract_variables(module))
    got = jax.tree.map(lambda a: (tuple(np.shape(a)), str(np.asarray(a).dtype)), dict(loaded[name]))
    if want != got:
      raise ValueError(f'--config.init_from={path}: its {name} does not match the configured {name} '
                       '(resolution, channels or architecture differ)')
  logger.info(f'initialized {", ".join(k for k in ("G", "D", "G_ema") if k in loaded)} from {path}'
              + ('' if 'D' in loaded else ' (D freshly initialized: the source has none)'))
  return loaded['G'], loaded.get('D'), loaded['G_ema']
