"""Writes frame sequences as MP4 (H.264 through imageio's ffmpeg plugin) or, where ffmpeg is missing, as GIF."""

from __future__ import annotations

import contextlib
import pathlib
import warnings
from typing import Iterable

import numpy as np


def ffmpeg_available() -> bool:
  """True if imageio can find an ffmpeg executable (the imageio-ffmpeg wheel ships one)."""
  try:
    import imageio_ffmpeg  # pylint: disable=import-outside-toplevel
    imageio_ffmpeg.get_ffmpeg_exe()
    return True
  except (ImportError, RuntimeError):
    return False


class VideoWriter:
  """Appends HWC uint8 frames to an ``.mp4`` (H.264) or ``.gif``; use as a context manager.

  An ``.mp4`` becomes a ``.gif`` beside it when no ffmpeg is available
  (``.path`` says which was written). Odd frame sizes are padded for H.264.
  """

  def __init__(self, path: str | pathlib.Path, fps: float = 30.0):
    import imageio.v2 as imageio  # pylint: disable=import-outside-toplevel
    path = pathlib.Path(path)
    if path.suffix.lower() not in ('.mp4', '.gif'):
      raise ValueError(f'video path must end in .mp4 or .gif, got {path.name}')
    if path.suffix.lower() == '.mp4' and not ffmpeg_available():
      path = path.with_suffix('.gif')
      print(f'no ffmpeg found (pip install imageio-ffmpeg); writing {path} instead')
    path.parent.mkdir(parents=True, exist_ok=True)
    self.path, self.count, self._mp4 = path, 0, path.suffix.lower() == '.mp4'
    if self._mp4:
      self._writer = imageio.get_writer(path, mode='I', fps=fps, codec='libx264', quality=9, macro_block_size=1,
                                        ffmpeg_log_level='error')
    else:
      self._writer = imageio.get_writer(path, mode='I', duration=1000 / fps, loop=0)

  def append(self, frame: np.ndarray) -> None:
    """Adds one HWC (or HW) uint8 frame."""
    frame = np.asarray(frame, np.uint8)
    if frame.ndim == 3 and frame.shape[-1] == 1:
      frame = frame[..., 0]
    with _ffmpeg_subprocess():
      self._writer.append_data(_even(frame) if self._mp4 else frame)
    self.count += 1

  def close(self) -> None:
    """Finishes the file; an empty video is removed and refused."""
    self._writer.close()
    if self.count == 0:
      self.path.unlink(missing_ok=True)
      raise ValueError('no frames to write')

  def __enter__(self) -> 'VideoWriter':
    return self

  def __exit__(self, exc_type, exc, tb) -> None:
    if exc_type is None:
      self.close()
    else:
      self._writer.close()


def write_video(frames: Iterable[np.ndarray], path: str | pathlib.Path, fps: float = 30.0) -> pathlib.Path:
  """Writes HWC uint8 frames to ``path`` (.mp4, or .gif; see :class:`VideoWriter`); returns the path written."""
  with VideoWriter(path, fps) as writer:
    for frame in frames:
      writer.append(frame)
  return writer.path


def _even(frame: np.ndarray) -> np.ndarray:
  """Pads height and width to even sizes (yuv420p needs them) by repeating the last row/column."""
  pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
  if not (pad_h or pad_w):
    return frame
  return np.pad(frame, [(0, pad_h), (0, pad_w)] + [(0, 0)] * (frame.ndim - 2), mode='edge')


def read_video(path: str | pathlib.Path) -> np.ndarray:
  """All frames of a video as [T, H, W, C] uint8 (for checking what was written)."""
  import imageio.v3 as iio  # pylint: disable=import-outside-toplevel
  with _ffmpeg_subprocess():
    return np.asarray(iio.imread(path, index=None))


@contextlib.contextmanager
def _ffmpeg_subprocess():
  """imageio starts ffmpeg as a subprocess (fork + exec at once), which JAX warns about as if it were a bare fork."""
  with warnings.catch_warnings():
    warnings.filterwarnings('ignore', message=r'os\.fork\(\) was called', category=RuntimeWarning)
    yield
