"""Random-access image sources for training: the embedded demo array and prepared tfds datasets.

A source has ``len()``, ``resolution``, ``channels``, ``num_classes`` (0 when
unlabelled) and ``read(index) -> (uint8 CHW image, int label)``; the batch
iterator (``batches.py``) decides which indices each process reads.
"""

from __future__ import annotations

import json
import logging
import pathlib

import numpy as np

from stylegan2_jax.data.prepare import REPORT_NAME


class ArraySource:
  """Images held in memory: uint8 NCHW images and int labels (or None)."""

  def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, description: str = 'in memory'):
    self.images, self.labels, self.description = images, labels, description
    self.resolution, self.channels = int(images.shape[2]), int(images.shape[1])
    self.num_classes = 0 if labels is None else int(labels.max()) + 1

  def __len__(self) -> int:
    return len(self.images)

  def read(self, index: int) -> tuple[np.ndarray, int]:
    """(uint8 CHW image, label or -1) of one example."""
    return self.images[index], -1 if self.labels is None else int(self.labels[index])


class TfdsSource:
  """A prepared dataset directory (``<data_dir>/<name>/<config>/<version>``) read with ``tfds`` without TensorFlow."""

  def __init__(self, path: str | pathlib.Path):
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    self.path = find_prepared_dir(path)
    builder = tfds.builder_from_directory(str(self.path))
    logging.getLogger('absl').setLevel(logging.ERROR)  # tfds suggests OpenCV on every decode; PIL is fine
    self._source = builder.as_data_source(split='train')
    image = builder.info.features['image']
    if image.shape[0] != image.shape[1]:
      raise ValueError(f'{self.path} holds {image.shape[1]}x{image.shape[0]} images; training needs square images')
    self.resolution, self.channels = int(image.shape[0]), int(image.shape[2])
    self.num_classes = builder.info.features['label'].num_classes if 'label' in builder.info.features else 0
    self.description = f'{builder.name}/{builder.builder_config.name if builder.builder_config else ""} at {self.path}'

  def __len__(self) -> int:
    return len(self._source)

  def read(self, index: int) -> tuple[np.ndarray, int]:
    """(uint8 CHW image, label or -1) of one example (decoded from PNG)."""
    record = self._source[index]
    return np.ascontiguousarray(np.transpose(record['image'], (2, 0, 1))), int(record.get('label', -1))

  def report(self) -> dict | None:
    """The dataset tool's summary (with the skipped files), if the dataset was made by it."""
    path = self.path / REPORT_NAME
    return json.loads(path.read_text()) if path.exists() else None


def find_prepared_dir(path: str | pathlib.Path) -> pathlib.Path:
  """The version directory (holding ``dataset_info.json``) at or below ``path`` (newest version if several)."""
  path = pathlib.Path(path).expanduser()
  if (path / 'dataset_info.json').exists():
    return path
  candidates = sorted(path.glob('*/dataset_info.json')) + sorted(path.glob('*/*/dataset_info.json'))
  if not candidates:
    raise FileNotFoundError(f'{path} holds no prepared dataset (no dataset_info.json): make one with '
                            '"stylegan2-jax dataset ..." and pass the directory it prints')
  parents = {c.parent.parent for c in candidates}
  if len(parents) > 1:
    options = ', '.join(sorted(str(p) for p in parents))
    raise ValueError(f'{path} holds several prepared datasets ({options}): pass one of them')
  return max((c.parent for c in candidates), key=lambda p: tuple(int(x) for x in p.name.split('.') if x.isdigit()))


class SubsetSource:
  """Some examples of another source, by index (``random_subset``); reads go to the other source."""

  def __init__(self, source, indices: np.ndarray, description: str):
    self.source, self.indices, self.description = source, np.asarray(indices, np.int64), description
    self.resolution, self.channels, self.num_classes = source.resolution, source.channels, source.num_classes
    labels = getattr(source, 'labels', None)
    self.labels = None if labels is None else np.asarray(labels)[self.indices]

  def __len__(self) -> int:
    return len(self.indices)

  def read(self, index: int) -> tuple[np.ndarray, int]:
    """(uint8 CHW image, label or -1) of the subset's example ``index``."""
    return self.source.read(int(self.indices[index]))


def random_subset(source, max_images: int, seed: int):
  """``max_images`` examples of ``source`` chosen at random by ``seed`` (the official ``--subset``), in index order.

  As the official dataset's ``max_size``: the indices are shuffled by
  ``np.random.RandomState(seed)`` and the first ``max_images`` kept, sorted. The
  whole source when ``max_images`` is 0 or not smaller than it.
  """
  if not max_images or max_images >= len(source):
    return source
  indices = np.arange(len(source))
  np.random.RandomState(seed).shuffle(indices)
  return SubsetSource(source, np.sort(indices[:max_images]),
                      f'{source.description}, a random subset of {max_images} (seed {seed})')
