"""Reading the feature networks' weight files: a torch ``state_dict`` (without torch, nothing executed) or an ``.npz``."""

from __future__ import annotations

import pathlib
import zipfile

import numpy as np

from stylegan2_jax.interop.official_pickle import UnsupportedPickleError, load_official_pickle


def read_state_dict(path: str | pathlib.Path, help_text: str) -> dict[str, np.ndarray]:
  """The ``{name: array}`` entries of a ``torch.save`` state_dict or of an ``.npz`` holding one.

  In an ``.npz`` only keys containing a dot are weights (state_dict names); other
  keys, such as the data arrays of a reference file, are skipped. Errors end with
  ``help_text`` (where to get the file and which flag takes it).
  """
  path = pathlib.Path(path).expanduser()
  if not path.is_file():
    raise FileNotFoundError(f'weights file {path} not found. {help_text}')
  if is_torchscript(path):
    raise ValueError(f"{path} is a TorchScript program (as NVIDIA's metric files inception-2015-12-05.pt and vgg16.pt "
                     f'are), which cannot be read without running its code. {help_text}')
  if path.suffix == '.npz':
    with np.load(path, allow_pickle=False) as data:
      return {k: data[k] for k in data.files if '.' in k}
  try:
    sd = load_official_pickle(path)
  except UnsupportedPickleError as e:  # another format (a TensorFlow graph or network, an archive): say which to use
    raise ValueError(f'{path} is not a torch state_dict ({e}). {help_text}') from None
  if not isinstance(sd, dict):
    raise ValueError(f'{path} is not a state_dict. {help_text}')
  bad = [k for k, v in sd.items() if not isinstance(v, np.ndarray)]
  if bad:
    raise ValueError(f'{path} is not a plain state_dict of tensors (e.g. {bad[0]!r}). {help_text}')
  return sd


def is_torchscript(path: str | pathlib.Path) -> bool:
  """Whether ``path`` is a TorchScript archive (``torch.jit.save``: a zip with ``code/`` or ``constants.pkl``)."""
  if not zipfile.is_zipfile(path):
    return False
  with zipfile.ZipFile(path) as archive:
    return any(name.split('/', 1)[-1].startswith(('code/', 'constants.pkl')) for name in archive.namelist())
