"""The official state dict <-> our variables mapping is lossless for every reference network."""

import numpy as np
import pytest
from conftest import init_kwargs_of, load_case, state_dict_of

from stylegan2_jax.interop.state_dict import from_state_dict, to_state_dict
from stylegan2_jax.networks.config import abstract_variables, discriminator_from_kwargs, generator_from_kwargs

CASES = ['fixtures:g_res32_skip.npz', 'fixtures:g_res32_cond.npz', 'fixtures:d_res32_resnet.npz',
         'fixtures:d_res32_cond.npz', 'repo:g_res16_orig_small.npz', 'repo:g_res16_resnet_cond_small.npz',
         'repo:g_res8_skip_rgba_nonoise_small.npz', 'repo:d_res16_skip_small.npz', 'repo:d_res16_orig_cond_small.npz',
         'repo:d_res8_resnet_gray_small.npz', 'repo:d_res8_resnet_nombstd_small.npz']


@pytest.mark.parametrize('spec', CASES)
def test_official_state_dict_round_trip(spec):
  """Import, then export with the derived FIR buffers: exactly the official keys and values."""
  data = load_case(spec)
  official = state_dict_of(data)
  from_kwargs = generator_from_kwargs if spec.split(':')[1].startswith('g_') else discriminator_from_kwargs
  net = from_kwargs(init_kwargs_of(data))
  ours = to_state_dict(from_state_dict(official, abstract_variables(net)), with_derived=True)
  assert sorted(ours) == sorted(official)
  for key, value in official.items():
    assert ours[key].dtype == value.dtype, key
    np.testing.assert_array_equal(ours[key], value, err_msg=key)
