"""Properties of the augmentation pipe that need no reference fixture."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stylegan2_jax.augment import (AUGPIPE_SPECS, DEFAULT_AUGPIPE, AugmentSettings, augment,
                                   augment_with_intermediates, draw_augment_inputs, draw_specs, filters, preset)
from stylegan2_jax.augment import draws as draws_module

run = jax.jit(augment_with_intermediates, static_argnames=('settings', 'shards'))


def images_and_draws(name, shape, seed=0, **overrides):
  settings = preset(name, **overrides)
  images = jax.random.uniform(jax.random.PRNGKey(seed), shape, jnp.float32, -1, 1)
  return settings, images, draw_augment_inputs(jax.random.PRNGKey(seed + 1), settings, shape)


def test_presets_are_the_official_augpipe_specs():
  assert DEFAULT_AUGPIPE == 'bgc'
  assert list(AUGPIPE_SPECS) == ['blit', 'geom', 'color', 'filter', 'noise', 'cutout', 'bg', 'bgc', 'bgcf',
                                 'bgcfn', 'bgcfnc']
  groups = ['blit', 'geom', 'color', 'filter', 'noise', 'cutout']
  for name in ('bg', 'bgc', 'bgcf', 'bgcfn', 'bgcfnc'):
    union = {k: v for g in groups[:len(name)] for k, v in AUGPIPE_SPECS[g].items()}
    assert AUGPIPE_SPECS[name] == union
  s = preset('bgc')
  assert (s.xint_max, s.scale_std, s.rotate_max, s.aniso_std, s.xfrac_std) == (0.125, 0.2, 1, 0.2, 0.125)
  assert (s.brightness_std, s.contrast_std, s.hue_max, s.saturation_std) == (0.2, 0.5, 1, 1)
  assert (s.imgfilter, s.imgfilter_bands, s.imgfilter_std, s.noise_std, s.cutout_size) == (0, (1,) * 4, 1, 0.1, 0.5)


def test_bad_settings_and_inputs_give_one_clear_error():
  with pytest.raises(ValueError, match="unknown preset 'bgx'"):
    preset('bgx')
  with pytest.raises(ValueError, match='unknown AugmentPipe argument'):
    AugmentSettings.from_kwargs({'flip': 1})
  settings, images, draws = images_and_draws('color', (2, 2, 8, 8))
  with pytest.raises(ValueError, match='3 channels.*1 channel.*got 2'):
    augment(images, draws, 1.0, settings)
  settings, images, draws = images_and_draws('bgc', (2, 3, 8, 8))
  del draws['hue_gate']
  with pytest.raises(ValueError, match="lack 'hue_gate'"):
    augment(images, draws, 1.0, settings)
  settings, images, draws = images_and_draws('filter', (2, 3, 16, 16))
  with pytest.raises(ValueError, match='imgfilter needs images larger than 21x21'):
    augment(images, draws, 1.0, settings)


@pytest.mark.parametrize('channels,count', [(3, 39), (1, 35)])
def test_draws_follow_the_official_order_shapes_and_distributions(channels, count):
  shape = (5, channels, 24, 40)
  settings = preset('bgcfnc')
  specs = draw_specs(settings, shape)
  assert len(specs) == count
  names = [s.name for s in specs]
  assert names[:4] == ['xflip_i', 'xflip_gate', 'rotate90_i', 'rotate90_gate']
  assert names[-5:] == ['noise_sigma', 'noise_gate', 'noise_n', 'cutout_gate', 'cutout_center']
  assert ('hue_theta' in names) == (channels == 3)
  draws = draw_augment_inputs(jax.random.PRNGKey(0), settings, shape)
  assert list(draws) == names
  for spec in specs:
    value = np.asarray(draws[spec.name])
    assert value.shape == spec.shape and value.dtype == np.float32
    if spec.dist == 'uniform':
      assert value.min() >= 0 and value.max() < 1
  big = draw_augment_inputs(jax.random.PRNGKey(1), settings, (4, channels, 64, 64))['noise_n']
  assert abs(float(big.mean())) < 0.05 and abs(float(big.std()) - 1) < 0.05
  assert [len(draw_specs(preset(n), (2, 3, 32, 32))) for n in ('bgc', 'blit', 'geom', 'color', 'filter', 'noise',
                                                               'cutout')] == [26, 6, 10, 10, 8, 3, 2]


@pytest.mark.parametrize('name', ['color', 'filter', 'noise', 'cutout'])
def test_p0_is_the_identity_where_the_official_pipe_makes_it_so(name):
  settings, images, draws = images_and_draws(name, (3, 3, 24, 24))
  np.testing.assert_array_equal(run(images, draws, 0.0, settings)[0], images)


@pytest.mark.parametrize('channels', [1, 3])
def test_p0_geometric_path_resamples_to_the_input(channels):
  # The official pipe still pads, upsamples, grid-samples and downsamples at p = 0 (sym6 up and down
  # form an orthogonal pair), so the output equals the input up to float32 rounding.
  settings, images, draws = images_and_draws('bgcfnc', (3, channels, 24, 28))
  out, interm = run(images, draws, 0.0, settings)
  np.testing.assert_allclose(out, images, atol=1e-5)
  np.testing.assert_array_equal(interm['geom_pad'], np.full((3, 4), 6))


@pytest.mark.parametrize('shape', [(5, 3, 24, 40), (3, 1, 36, 24), (1, 3, 64, 64)])
def test_general_shapes_are_linear_with_consistent_gradients(shape):
  # For fixed draws the pipe is affine in the images: its VJP (used by R1) must be the transpose of
  # its JVP, and both must be the change of the output.
  settings, images, draws = images_and_draws('bgcfnc', shape, seed=3)
  f = functools.partial(augment, draws=draws, p=jnp.float32(0.7), settings=settings)
  out = f(images)
  assert out.shape == shape and bool(jnp.all(jnp.isfinite(out)))
  key_v, key_r = jax.random.split(jax.random.PRNGKey(7))
  v = jax.random.normal(key_v, shape)
  r = jax.random.normal(key_r, shape)
  _, jv = jax.jvp(f, (images,), (v,))
  grad = jax.grad(lambda x: jnp.sum(f(x) * r))(images)
  assert bool(jnp.all(jnp.isfinite(grad))) and float(jnp.abs(grad).max()) > 0
  np.testing.assert_allclose(jnp.vdot(r, jv), jnp.vdot(grad, v), rtol=1e-4)
  np.testing.assert_allclose(f(images + v) - out, jv, atol=1e-4 * (1 + float(jnp.abs(jv).max())))


def test_shards_pool_the_padding_per_group_as_the_official_per_device_batches():
  settings, images, draws = images_and_draws('bgc', (4, 3, 16, 16), seed=5)
  out, interm = run(images, draws, 1.0, settings, shards=2)
  for half in (slice(0, 2), slice(2, 4)):
    part_draws = {k: v[half] for k, v in draws.items()}
    part, part_interm = run(images[half], part_draws, 1.0, settings)
    np.testing.assert_array_equal(interm['geom_pad'][half], part_interm['geom_pad'])
    np.testing.assert_array_equal(out[half], part)
  pad_all = run(images, draws, 1.0, settings)[1]['geom_pad']
  assert np.all(np.asarray(pad_all) >= np.asarray(interm['geom_pad']))


def test_sym6_up_and_down_are_an_orthogonal_pair():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 40))
  up = filters.upsample_1d(x, filters.HZ_GEOM, axis=1)
  # The official upsample: zero insertion, pad (6, 5), true convolution with 2 * f.
  zeros = np.zeros((2, 80), np.float32)
  zeros[:, ::2] = x
  padded = np.pad(zeros, [(0, 0), (6, 5)])
  taps = (2 * filters.HZ_GEOM)[::-1]
  ref = np.stack([np.correlate(row, taps, mode='valid') for row in padded])
  np.testing.assert_allclose(up, ref, atol=1e-6)
  # down(up(x)) = x away from the borders (the pipe's crop of 1 keeps the two aligned).
  down = filters.downsample_1d(jnp.pad(up, [(0, 0), (6, 6)]), filters.HZ_GEOM, axis=1, crop=1)
  np.testing.assert_allclose(down[:, 6:-6], x[:, 6:-6], atol=1e-5)


@pytest.mark.parametrize('p', [0.05, 1.0])
def test_canvas_size_changes_the_cost_not_the_values(p):
  from stylegan2_jax.augment import geometric
  settings, images, draws = images_and_draws('bg', (4, 3, 16, 16), seed=9)
  g_inv = geometric.geometric_matrix(draws, jnp.float32(p), settings, 16, 16)
  apply = jax.jit(geometric.apply_geometric, static_argnames=('shards', 'canvas_fractions'))
  largest = apply(images, g_inv, canvas_fractions=(1.0,))[0]
  np.testing.assert_allclose(apply(images, g_inv)[0], largest, rtol=1e-6, atol=1e-6)


def test_every_probability_multiplier_draws_from_the_one_table_in_official_order():
  multipliers = {'xflip', 'rotate90', 'xint', 'scale', 'rotate', 'aniso', 'xfrac', 'brightness', 'contrast',
                 'lumaflip', 'hue', 'saturation', 'imgfilter', 'noise', 'cutout'}
  assert {row.setting for row in draws_module.DRAW_TABLE} == multipliers
  everything = AugmentSettings(**{name: 1.0 for name in multipliers})
  assert [s.name for s in draw_specs(everything, (2, 3, 32, 32))] == [row.name for row in draws_module.DRAW_TABLE]
  assert [s.name for s in draw_specs(everything, (2, 3, 32, 32))] == [
      'xflip_i', 'xflip_gate', 'rotate90_i', 'rotate90_gate', 'xint_t', 'xint_gate', 'scale_s', 'scale_gate',
      'rotate_pre_theta', 'rotate_pre_gate', 'aniso_s', 'aniso_gate', 'rotate_post_theta', 'rotate_post_gate',
      'xfrac_t', 'xfrac_gate', 'brightness_b', 'brightness_gate', 'contrast_c', 'contrast_gate', 'lumaflip_i',
      'lumaflip_gate', 'hue_theta', 'hue_gate', 'saturation_s', 'saturation_gate',
      *[f'imgfilter_band{b}_{k}' for b in range(4) for k in ('t', 'gate')],
      'noise_sigma', 'noise_gate', 'noise_n', 'cutout_gate', 'cutout_center']
  for name in multipliers:
    alone = AugmentSettings(**{name: 1.0})
    assert {s.name for s in draw_specs(alone, (2, 3, 32, 32))} == {
        row.name for row in draws_module.DRAW_TABLE if row.setting == name}
    gray = {s.name for s in draw_specs(alone, (2, 1, 32, 32))}
    assert gray == (set() if name in ('hue', 'saturation') else {
        row.name for row in draws_module.DRAW_TABLE if row.setting == name})
