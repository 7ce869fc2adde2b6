"""Sample grids written on the run logger's writer thread: the same files, every one written by close, errors raised."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylegan2_jax.training.io import RunLogger


def _grid(value):
  return np.full((4, 6, 1), value, np.uint8)


def test_background_grids_are_all_written_by_close(tmp_path):
  logger = RunLogger(tmp_path, background_images=True)
  for step in range(3):
    logger.image(f'samples_{step}.png', lambda step=step: _grid(10 * step), step)  # fetched on the writer thread
  logger.close()
  for step in range(3):
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / f'samples_{step}.png')), _grid(10 * step)[..., 0])


def test_a_failed_background_write_is_raised(tmp_path):
  logger = RunLogger(tmp_path, background_images=True)
  logger.image('missing_dir/samples.png', _grid(1), 0)
  with pytest.raises(FileNotFoundError, match='missing_dir'):
    logger.flush_images()
  logger.image('missing_dir/samples.png', _grid(1), 1)
  with pytest.raises(FileNotFoundError, match='missing_dir'):
    logger.close()  # and at the latest when the run closes its logger
