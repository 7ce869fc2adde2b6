"""Tiny networks with every parameter randomised, for the conversion round trips."""

from __future__ import annotations

import jax
import numpy as np

from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.interop.state_dict import to_state_dict
from stylegan2_jax.networks.config import (discriminator_from_kwargs, generator_from_kwargs, init_discriminator,
                                           init_generator)

TINY_G = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
              synthesis_kwargs=dict(channel_base=256, channel_max=32))
TINY_D = dict(c_dim=0, img_resolution=16, img_channels=3, channel_base=256, channel_max=32)


def random_network(kwargs: dict, discriminator: bool = False, seed: int = 0) -> LoadedNetwork:
  """A network built from official kwargs with every variable (biases, noise strengths, w_avg too) random."""
  module = discriminator_from_kwargs(kwargs) if discriminator else generator_from_kwargs(kwargs)
  key = jax.random.key(seed)
  variables = (init_discriminator if discriminator else init_generator)(module, key)
  leaves, treedef = jax.tree.flatten(jax.device_get(variables))
  rng = np.random.RandomState(seed)
  leaves = [(np.asarray(a, np.float32) + 0.1 * rng.standard_normal(np.shape(a))).astype(np.float32) for a in leaves]
  return LoadedNetwork(module=module, variables=jax.tree.unflatten(treedef, leaves), init_kwargs=kwargs,
                       class_name='Discriminator' if discriminator else 'Generator')


def assert_same_variables(actual: LoadedNetwork, expected: LoadedNetwork) -> None:
  """Bitwise equal variables under the same official names."""
  a, e = to_state_dict(actual.variables), to_state_dict(expected.variables)
  assert sorted(a) == sorted(e)
  for name in e:
    assert a[name].dtype == e[name].dtype and np.array_equal(a[name], e[name]), name
