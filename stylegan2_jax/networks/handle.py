"""A loaded network, whatever it came from: our module, its variables and the official constructor kwargs."""

from __future__ import annotations

import dataclasses
from typing import Any

NETWORK_KEYS = ('G', 'D', 'G_ema')  # the networks of an official snapshot; G_ema is the one to sample from


class UnsupportedNetworkError(ValueError):
  """The source holds a network this project does not implement (e.g. StyleGAN3's alias-free G)."""


@dataclasses.dataclass
class LoadedNetwork:
  """One network: our Flax module, its variables and the official constructor kwargs it was built from."""
  module: Any
  variables: dict
  init_kwargs: dict
  class_name: str
