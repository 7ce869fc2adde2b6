"""Official StyleGAN2 network pickles (stylegan2-ada-pytorch, stylegan3) -> our modules and variables.

The pickle is read by ``official_pickle`` (no code from the file is executed,
no torch needed); the constructor kwargs build our Flax module and the
state dict goes through ``state_dict.from_state_dict``.
"""

from __future__ import annotations

import os

from stylegan2_jax.interop.official_pickle import OfficialModule, load_official_pickle
from stylegan2_jax.interop.read_limits import brief_list
from stylegan2_jax.interop.state_dict import from_state_dict
from stylegan2_jax.networks.config import abstract_variables, discriminator_from_kwargs, generator_from_kwargs
from stylegan2_jax.networks.handle import NETWORK_KEYS, LoadedNetwork, UnsupportedNetworkError

def _check_supported(name: str, net: OfficialModule) -> None:
  classes = set(net.module_classes.values())
  if 'SynthesisInput' in classes or (net.class_name == 'Generator' and 'synthesis.b4' not in net.module_classes):
    raise UnsupportedNetworkError(
        f'{name} is a StyleGAN3 (alias-free) generator, which this project does not implement; it reads '
        'StyleGAN2 networks (stylegan2-ada-pytorch pickles and stylegan3 pickles trained with --cfg=stylegan2)')
  if net.class_name not in ('Generator', 'Discriminator'):
    raise UnsupportedNetworkError(f'{name} is a {net.class_name}, not a StyleGAN2 Generator or Discriminator')


def convert_official_module(name: str, net: OfficialModule, force_fp32: bool = True) -> LoadedNetwork:
  """Builds our module and variables for one official network.

  ``force_fp32`` runs every layer in float32 (``num_fp16_res=0``), as the
  official code does on CPU and as parity needs; the recorded ``init_kwargs``
  keep the original setting.
  """
  _check_supported(name, net)
  overrides = dict(num_fp16_res=0) if force_fp32 else {}
  if net.class_name == 'Generator':
    module = generator_from_kwargs(net.init_kwargs, **overrides)
    resample_filter = module.synthesis_kwargs.get('resample_filter', (1, 3, 3, 1))
  else:
    module = discriminator_from_kwargs(net.init_kwargs, **overrides)
    resample_filter = module.block_kwargs.get('resample_filter', (1, 3, 3, 1))
  variables = from_state_dict(net.state_dict, abstract_variables(module), resample_filter=resample_filter)
  return LoadedNetwork(module=module, variables=variables, init_kwargs=net.init_kwargs, class_name=net.class_name)


def convert_official_networks(data: dict, keys=NETWORK_KEYS, force_fp32: bool = True,
                              source: str | os.PathLike = 'the pickle') -> dict[str, LoadedNetwork]:
  """Our networks for the persistent networks ``keys`` of an unpickled official dict, in the order of ``keys``."""
  found = {k: data[k] for k in keys if isinstance(data.get(k), OfficialModule)}
  if not found:
    raise UnsupportedNetworkError(f'{source}: no networks {list(keys)} in this pickle (keys: {brief_list(data)})')
  return {k: convert_official_module(k, v, force_fp32) for k, v in found.items()}


def load_official_networks(path: str | os.PathLike, keys=NETWORK_KEYS,
                           force_fp32: bool = True) -> dict[str, LoadedNetwork]:
  """Loads the networks ``keys`` present in an official pickle (``G``, ``D``, ``G_ema``)."""
  return convert_official_networks(load_official_pickle(path), keys, force_fp32, source=path)
