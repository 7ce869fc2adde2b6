"""Generator parity with the official implementation.

Cases: the shared reference fixtures (skip generators, unconditional and
conditional) and the small in-repo cases of ``tests/data/official_cases`` (orig and
resnet generators, RGBA, no noise, other mapping depths). Tolerances from the
fixtures README: ws and images ``atol=1e-4, rtol=1e-4`` (two float32
formulations inside PyTorch itself differ by ~1e-5).
"""

import numpy as np
import pytest
from conftest import case_resolutions, init_kwargs_of, load_case, state_dict_of

from stylegan2_jax.interop.state_dict import from_state_dict
from stylegan2_jax.networks.config import abstract_variables, generator_from_kwargs
from stylegan2_jax.ops.target import TARGETS, use_target

TOL = dict(atol=1e-4, rtol=1e-4)
MIXING_CASES = ['fixtures:g_res32_skip.npz', 'repo:g_res16_orig_small.npz', 'repo:g_res16_resnet_cond_small.npz',
                'repo:g_res8_skip_rgba_nonoise_small.npz']
CASES = MIXING_CASES[:1] + ['fixtures:g_res32_cond.npz'] + MIXING_CASES[1:]


def build(spec):
  data = load_case(spec)
  G = generator_from_kwargs(init_kwargs_of(data))
  template = abstract_variables(G)
  return data, G, from_state_dict(state_dict_of(data), template)


@pytest.fixture(scope='module', params=CASES)
def case(request):
  return build(request.param)


@pytest.fixture(params=TARGETS)
def ops_form(request):
  """Runs the test with the resampling ops in each formulation (ops/target.py): the default and the TPU one."""
  with use_target(request.param):
    yield request.param


# The TPU formulation changes only the resampling ops, whose paths differ by architecture (skip images are
# upsampled, resnet blocks have strided skip convolutions) but not by noise mode, labels or channel count: by
# default it runs on one case per architecture with stored noise; every other combination runs with -m slow.
TPU_CASES = ('fixtures:g_res32_skip.npz', 'repo:g_res16_orig_small.npz', 'repo:g_res16_resnet_cond_small.npz')


def synthesis_params():
  for spec in CASES:
    for noise_mode in ('const', 'none'):
      for target in TARGETS:
        exhaustive = target == 'tpu' and (spec not in TPU_CASES or noise_mode != 'const')
        yield pytest.param(spec, noise_mode, target, marks=[pytest.mark.slow] if exhaustive else [])


def test_mapping(case):
  data, G, v = case
  np.testing.assert_allclose(G.apply(v, data['z'], data['c'], method=G.map), data['ws'], **TOL)


def test_truncation_all_layers(case):
  data, G, v = case
  ws = G.apply(v, data['z'], data['c'], 0.7, method=G.map)
  np.testing.assert_allclose(ws, data['ws_psi07'], **TOL)


def test_truncation_cutoff(case):
  data, G, v = case
  ws = G.apply(v, data['z'], data['c'], 0.7, 4, method=G.map)
  np.testing.assert_allclose(ws, data['ws_psi07_cutoff4'], **TOL)


@pytest.mark.parametrize('case,noise_mode,ops_form', list(synthesis_params()), indirect=['case', 'ops_form'])
def test_synthesis(case, noise_mode, ops_form):
  data, G, v = case
  img = G.apply(v, data['ws'], noise_mode, method=G.synthesize)
  np.testing.assert_allclose(img, data[f'img_{noise_mode}'], **TOL)


def test_truncated_image_end_to_end(case):
  data, G, v = case
  img = G.apply(v, data['z'], data['c'], 0.7, noise_mode='const')
  np.testing.assert_allclose(img, data['img_psi07_const'], **TOL)


def test_mapping_intermediates(case):
  data, G, v = case
  _, state = G.apply(v, data['z'][:2], data['c'][:2], method=G.map, capture_intermediates=True,
                     mutable=['intermediates'])
  mapping = state['intermediates']['mapping']
  layers = sorted(k for k in data if k.startswith('interm_mapping_fc'))
  assert len(layers) == G.mapping_kwargs.get('num_layers', 8)
  for key in layers:
    np.testing.assert_allclose(mapping[key[len('interm_mapping_'):]]['__call__'][0], data[key], **TOL, err_msg=key)
  assert ('interm_mapping_embed' in data) == (G.c_dim > 0)
  if G.c_dim > 0:
    np.testing.assert_allclose(mapping['embed']['__call__'][0], data['interm_mapping_embed'], **TOL)


def test_synthesis_block_intermediates(case):
  data, G, v = case
  _, state = G.apply(v, data['ws'][:2], 'const', method=G.synthesize, capture_intermediates=True,
                     mutable=['intermediates'])
  blocks = state['intermediates']['synthesis']
  resolutions = case_resolutions(data, 'interm_synthesis_')
  assert sorted(resolutions) == [2 ** i for i in range(2, G.img_resolution.bit_length())]
  for res in resolutions:
    x, img = blocks[f'b{res}']['__call__'][0]
    np.testing.assert_allclose(np.transpose(x, (0, 3, 1, 2)), data[f'interm_synthesis_b{res}_x'], **TOL,
                               err_msg=f'b{res} x')
    key = f'interm_synthesis_b{res}_img'
    assert (key in data) == (img is not None), key
    if img is not None:
      np.testing.assert_allclose(np.transpose(img, (0, 3, 1, 2)), data[key], **TOL, err_msg=f'b{res} img')


@pytest.mark.parametrize('spec', MIXING_CASES)
@pytest.mark.parametrize('noise_mode', ['const', 'none'])
def test_style_mixing(spec, noise_mode):
  data, G, v = build(spec)
  cutoff = int(data['mix_cutoff'])
  ws1 = G.apply(v, data['mix_z1'], data['c'], method=G.map)
  ws2 = G.apply(v, data['mix_z2'], data['c'], method=G.map)
  ws = np.concatenate([ws1[:, :cutoff], ws2[:, cutoff:]], axis=1)
  np.testing.assert_allclose(ws, data['mix_ws'], **TOL)
  img = G.apply(v, data['mix_ws'], noise_mode, method=G.synthesize)
  np.testing.assert_allclose(img, data[f'mix_img_{noise_mode}'], **TOL)
