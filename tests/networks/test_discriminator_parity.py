"""Discriminator parity with the official implementation.

Cases: the shared reference fixtures (resnet, unconditional and conditional) and
the small in-repo cases of ``tests/data/official_cases`` (skip and orig
discriminators, grayscale, minibatch-std group sizes 2 / whole batch / off, two
mbstd features, a custom cmap_dim). The untrained D is weakly input-sensitive
(logits ~0.2, R1 gradients ~1e-3), so logits, intermediates and gradients are
compared relative to their magnitude (1e-3 of the largest reference value), as the
fixtures README prescribes.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import case_resolutions, init_kwargs_of, load_case, state_dict_of

from stylegan2_jax.interop.state_dict import from_state_dict
from stylegan2_jax.networks.config import abstract_variables, discriminator_from_kwargs
from stylegan2_jax.ops.target import TARGETS, use_target

CASES = ['fixtures:d_res32_resnet.npz', 'fixtures:d_res32_cond.npz', 'repo:d_res16_skip_small.npz',
         'repo:d_res16_orig_cond_small.npz', 'repo:d_res8_resnet_gray_small.npz',
         'repo:d_res8_resnet_nombstd_small.npz']


def assert_close_relative(actual, expected, rel=1e-3, err_msg=''):
  actual, expected = np.asarray(actual), np.asarray(expected)
  assert actual.shape == expected.shape, (actual.shape, expected.shape, err_msg)
  bound = rel * np.abs(expected).max()
  err = np.abs(actual - expected).max()
  assert err <= bound, f'{err_msg}: max |diff| {err:.3g} > {bound:.3g}'


@pytest.fixture(scope='module', params=CASES)
def case(request):
  data = load_case(request.param)
  D = discriminator_from_kwargs(init_kwargs_of(data))
  template = abstract_variables(D)
  return data, D, from_state_dict(state_dict_of(data), template)


@pytest.fixture(params=TARGETS)
def ops_form(request):
  """Runs the test with the resampling ops in each formulation (ops/target.py): the default and the TPU one."""
  with use_target(request.param):
    yield request.param


# The TPU formulation changes only the resampling ops, whose paths differ by architecture (resnet skip
# convolutions, skip image downsampling) but not by labels, channel count or minibatch std: by default it runs on
# one case per architecture; every other combination runs with -m slow.
TPU_CASES = ('fixtures:d_res32_resnet.npz', 'repo:d_res16_skip_small.npz', 'repo:d_res16_orig_cond_small.npz')
CASES_AND_FORMS = [pytest.param(spec, target, marks=[pytest.mark.slow] if target == 'tpu' and spec not in TPU_CASES
                                else []) for spec in CASES for target in TARGETS]


@pytest.mark.parametrize('case,ops_form', CASES_AND_FORMS, indirect=True)
def test_logits(case, ops_form):
  data, D, v = case
  assert_close_relative(D.apply(v, data['img'], data['c']), data['logits'], err_msg='logits')


@pytest.mark.parametrize('case,ops_form', CASES_AND_FORMS, indirect=True)
def test_r1_gradients(case, ops_form):
  data, D, v = case
  grads = jax.grad(lambda img: D.apply(v, img, data['c']).sum())(jnp.asarray(data['img']))
  assert_close_relative(grads, data['r1_grads'], err_msg='r1_grads')
  penalty = jnp.sum(jnp.square(grads), axis=(1, 2, 3))
  assert_close_relative(penalty, data['r1_penalty'], err_msg='r1_penalty')


def test_intermediates(case):
  data, D, v = case
  _, state = D.apply(v, data['img'], data['c'], capture_intermediates=True, mutable=['intermediates'])
  inter = state['intermediates']
  nchw = lambda a: np.transpose(np.asarray(a), (0, 3, 1, 2))[:2]
  resolutions = case_resolutions(data, 'interm_')
  assert resolutions == [2 ** i for i in range(D.img_resolution.bit_length() - 1, 2, -1)]
  for res in resolutions:
    assert_close_relative(nchw(inter[f'b{res}']['__call__'][0][0]), data[f'interm_b{res}_x'], err_msg=f'b{res}')
  assert ('interm_b4_mbstd' in data) == ('mbstd' in inter['b4'])
  if 'mbstd' in inter['b4']:
    assert_close_relative(nchw(inter['b4']['mbstd'][0]), data['interm_b4_mbstd'], err_msg='b4.mbstd')
  assert_close_relative(nchw(inter['b4']['conv']['__call__'][0]), data['interm_b4_conv'], err_msg='b4.conv')
  assert_close_relative(inter['b4']['fc']['__call__'][0][:2], data['interm_b4_fc'], err_msg='b4.fc')
  assert_close_relative(inter['b4']['out']['__call__'][0][:2], data['interm_b4_out'], err_msg='b4.out')
  assert ('interm_mapping' in data) == (D.c_dim > 0)
  if D.c_dim > 0:
    assert_close_relative(inter['mapping']['__call__'][0][:2], data['interm_mapping'], err_msg='mapping')
