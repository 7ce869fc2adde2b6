"""The augmentation pipe against NVIDIA's official ``AugmentPipe`` (fixture ``augment_res32.npz``).

Every official random draw is replayed; outputs, input gradients and intermediates are compared
at the tolerances of the fixture's README (never loosened).
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_npz
from stylegan2_jax.augment import AugmentSettings, augment, augment_with_intermediates, draw_specs, filters

CASES = ['bgc_p1', 'bgcfnc_p06', 'blit_p1', 'geom_p1', 'color_p1', 'filter_p1', 'noise_p1', 'cutout_p1',
         'bgcfnc_p0', 'bgcfnc_gray_p1']
FIXTURE = 'augment_res32.npz'


@pytest.fixture(scope='module')
def data():
  return load_npz(FIXTURE)


def load_case(data, case):
  """(settings, images, draws in official order, p) of a fixture case."""
  settings = AugmentSettings.from_kwargs(json.loads(str(data[f'{case}/pipe_kwargs_json'])))
  keys = sorted(k for k in data if k.startswith(f'{case}/draw_'))
  draws = {k.split('/draw_', 1)[1].split('_', 1)[1]: jnp.asarray(data[k]) for k in keys}
  return settings, jnp.asarray(data[f'{case}/images_in']), draws, jnp.float32(data[f'{case}/p'])


def test_fixture_lists_the_cases(data):
  assert json.loads(str(data['cases_json'])) == CASES


def test_filters_are_the_official_constants(data):
  np.testing.assert_array_equal(filters.HZ_GEOM, data['const_Hz_geom'])
  # The taps that should be exactly zero come out near 1e-13 from float64 rounding, in an order that
  # depends on the convolution routine; the others agree to float32 rounding.
  np.testing.assert_allclose(filters.HZ_FBANK, data['const_Hz_fbank'], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize('case', CASES)
def test_draw_specs_match_official_draws(data, case):
  settings, images, draws, _ = load_case(data, case)
  specs = draw_specs(settings, images.shape)
  assert [s.name for s in specs] == list(draws)
  assert [s.shape for s in specs] == [tuple(v.shape) for v in draws.values()]
  assert len(specs) == int(data[f'{case}/num_draws'])
  meta = json.loads(str(data['meta_json']))['cases'][case]['draws']
  assert [s.dist for s in specs] == ['uniform' if m['dist'].startswith('uniform') else 'normal' for m in meta]


def assert_images_close(actual, ref, what):
  """Elementwise ``|d| <= 2e-4 * (1 + |ref|)`` (the fixture README's tolerance for images)."""
  err = np.abs(np.asarray(actual) - ref) / (1 + np.abs(ref))
  assert err.max() <= 2e-4, f'{what}: max |d|/(1+|ref|) = {err.max():.3g}'


@pytest.mark.parametrize('case', CASES)
def test_outputs_and_intermediates_match_official(data, case):
  settings, images, draws, p = load_case(data, case)
  out, interm = augment_with_intermediates(images, draws, p, settings)
  assert_images_close(out, data[f'{case}/images_out'], 'images_out')
  for name in ('geom_G_inv', 'geom_theta', 'color_C', 'filter_g', 'noise_sigma'):
    key = f'{case}/interm_{name}'
    assert (key in data) == (name in interm), name
    if key in data:
      np.testing.assert_allclose(interm[name], data[key], rtol=1e-5, atol=1e-5, err_msg=name)
  if f'{case}/interm_geom_pad' in data:
    np.testing.assert_array_equal(interm['geom_pad'], np.broadcast_to(data[f'{case}/interm_geom_pad'],
                                                                        interm['geom_pad'].shape))
  if f'{case}/interm_cutout_mask' in data:
    np.testing.assert_array_equal(interm['cutout_mask'], data[f'{case}/interm_cutout_mask'])
  for stage in ('geom', 'color', 'filter', 'noise'):
    if f'{case}/interm_stage_{stage}' in data:
      assert_images_close(interm[f'stage_{stage}'], data[f'{case}/interm_stage_{stage}'], f'stage_{stage}')


@pytest.mark.parametrize('case', CASES)
def test_input_gradients_match_official(data, case):
  settings, images, draws, p = load_case(data, case)
  cotangent = jnp.asarray(data[f'{case}/R'])
  grad = jax.grad(lambda x: jnp.sum(augment(x, draws, p, settings) * cotangent))(images)
  ref = data[f'{case}/grad_images']
  err = np.abs(np.asarray(grad) - ref).max()
  assert err <= 5e-5 * np.abs(ref).max(), f'max |d| = {err:.3g}, max |ref| = {np.abs(ref).max():.3g}'


def test_jit_with_traced_p_matches_eager_and_compiles_once(data):
  settings, images, draws, p = load_case(data, 'bgcfnc_p06')
  traces = []

  def run(x, d, p):
    traces.append(1)
    return augment(x, d, p, settings)

  jitted = jax.jit(run)
  eager = augment(images, draws, p, settings)
  np.testing.assert_allclose(jitted(images, draws, p), eager, rtol=1e-5, atol=1e-5)
  assert_images_close(jitted(images, draws, p), data['bgcfnc_p06/images_out'], 'jit')
  other = jitted(images, draws, jnp.float32(1.0))
  np.testing.assert_allclose(other, augment(images, draws, 1.0, settings), rtol=1e-5, atol=1e-5)
  assert len(traces) == 1
