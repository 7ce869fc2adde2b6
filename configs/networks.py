"""Network presets: ``get_config('tiny' | 'res64' | 'paper256' | 'f1024')`` -> ConfigDict(G=..., D=...).

    python -c "from configs.networks import get_config; print(get_config('paper256'))"

Each preset is the full official constructor kwargs (see stylegan2_jax/networks/defaults.py), for
building a network on its own (benchmarks, tests, conversion); training configs set the network sizes
themselves. ``tiny`` is for tests and debugging.
"""

import ml_collections

from stylegan2_jax.networks.defaults import discriminator_config, generator_config

PRESETS = {
    # name: (resolution, channel_base, channel_max, z/w dim, mapping layers)
    'tiny': (16, 256, 32, 32, 2),
    'res64': (64, 16384, 512, 512, 8),
    'paper256': (256, 16384, 512, 512, 8),   # the official 'paper256' config
    'f1024': (1024, 32768, 512, 512, 8),     # config F of the paper (FFHQ 1024)
}


def get_config(arg: str = 'tiny') -> ml_collections.ConfigDict:
  """Generator and discriminator kwargs for a preset."""
  if arg not in PRESETS:
    raise ValueError(f'unknown network preset {arg!r}; choose one of {sorted(PRESETS)}')
  res, channel_base, channel_max, dim, mapping_layers = PRESETS[arg]
  G = generator_config(res, z_dim=dim, w_dim=dim)
  G.mapping_kwargs.num_layers = mapping_layers
  G.synthesis_kwargs.update(channel_base=channel_base, channel_max=channel_max)
  D = discriminator_config(res, channel_base=channel_base, channel_max=channel_max)
  return ml_collections.ConfigDict(dict(G=G, D=D))
