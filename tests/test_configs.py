"""Network presets build the networks they describe."""

import jax
import pytest

from configs.networks import PRESETS, get_config
from stylegan2_jax.networks.config import discriminator_from_kwargs, generator_from_kwargs


@pytest.mark.parametrize('preset', sorted(PRESETS))
def test_presets_build(preset):
  cfg = get_config(preset)
  G = generator_from_kwargs(cfg.G)
  D = discriminator_from_kwargs(cfg.D)
  assert G.img_resolution == D.img_resolution == PRESETS[preset][0]
  assert G.num_ws == 2 * (G.img_resolution.bit_length() - 1) - 2


def test_tiny_preset_runs():
  from stylegan2_jax.networks.config import init_generator
  G = generator_from_kwargs(get_config('tiny').G)
  v = init_generator(G, jax.random.PRNGKey(0))
  assert G.apply(v, jax.numpy.zeros((1, 32)), None, noise_mode='none').shape == (1, 3, 16, 16)


def test_unknown_preset():
  with pytest.raises(ValueError, match='unknown network preset'):
    get_config('huge')
