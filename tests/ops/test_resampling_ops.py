"""The fast JAX ops against slow numpy references that follow the official generic path."""

import jax
import jax.numpy as jnp
from jax import lax
import numpy as np
import pytest

from stylegan2_jax.ops.bias_act import bias_act
from stylegan2_jax.ops.conv2d_resample import _DN, _conv_transpose, _padded_conv, _strided_conv, conv2d_resample
from stylegan2_jax.ops.target import TARGETS, ops_target, use_target
from stylegan2_jax.ops.reference import bias_act_ref, conv2d_resample_ref, upfirdn2d_ref
from stylegan2_jax.ops.upfirdn2d import downsample2d, setup_filter, upfirdn2d, upsample2d

F = setup_filter([1, 3, 3, 1])
nhwc = lambda a: jnp.asarray(np.transpose(a, (0, 2, 3, 1)), jnp.float32)
nchw = lambda a: np.transpose(np.asarray(a), (0, 3, 1, 2))


def test_setup_filter_is_official_constant():
  expected = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0
  np.testing.assert_array_equal(F, expected.astype(np.float32))


@pytest.mark.parametrize('up,down,padding,gain', [
    (1, 1, (0, 0, 0, 0), 1), (2, 1, (2, 1, 2, 1), 4), (1, 2, (1, 1, 1, 1), 1),
    (1, 1, (2, 2, 2, 2), 1), (2, 1, (-1, 2, 0, -1), 4), (1, 2, (1, 0, 2, 1), 3.0), (3, 1, (1, 1, 1, 1), 9)])
@pytest.mark.parametrize('f', [F, np.arange(6, dtype=np.float32).reshape(2, 3) / 10], ids=['fir', 'nonseparable'])
@pytest.mark.parametrize('target', TARGETS)
def test_upfirdn2d_matches_reference(up, down, padding, gain, f, target):
  x = np.random.RandomState(0).randn(2, 3, 8, 7).astype(np.float32)
  with use_target(target):
    out = upfirdn2d(nhwc(x), f, up=up, down=down, padding=padding, gain=gain)
  np.testing.assert_allclose(nchw(out), upfirdn2d_ref(x, f, up, down, padding, gain=gain), atol=1e-5, rtol=1e-5)


def test_up_and_down_sample_shapes_and_dc_gain():
  x = jnp.ones((1, 8, 8, 2))
  up = upsample2d(x, F)
  down = downsample2d(x, F)
  assert up.shape == (1, 16, 16, 2) and down.shape == (1, 4, 4, 2)
  np.testing.assert_allclose(up[:, 2:-2, 2:-2], 1.0, rtol=1e-6)  # interior of a constant stays constant
  np.testing.assert_allclose(down[:, 1:-1, 1:-1], 1.0, rtol=1e-6)


@pytest.mark.parametrize('k', [1, 3])
@pytest.mark.parametrize('up,down', [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize('flip_weight', [True, False])
@pytest.mark.parametrize('target', TARGETS)
def test_conv2d_resample_matches_generic_reference(k, up, down, flip_weight, target):
  rng = np.random.RandomState(1)
  x = rng.randn(2, 4, 8, 8).astype(np.float32)
  w = rng.randn(5, 4, k, k).astype(np.float32)
  with use_target(target):
    out = conv2d_resample(nhwc(x), jnp.asarray(w), f=F, up=up, down=down, padding=k // 2, flip_weight=flip_weight)
  ref = conv2d_resample_ref(x, w, f=F, up=up, down=down, padding=k // 2, flip_weight=flip_weight)
  assert nchw(out).shape == ref.shape
  np.testing.assert_allclose(nchw(out), ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('act,gain,clamp', [('linear', None, None), ('lrelu', None, None), ('lrelu', 0.7, 0.5)])
def test_bias_act_matches_reference(act, gain, clamp):
  rng = np.random.RandomState(2)
  x = rng.randn(3, 4, 4, 5).astype(np.float32)
  b = rng.randn(5).astype(np.float32)
  out = bias_act(jnp.asarray(x), jnp.asarray(b), act=act, gain=gain, clamp=clamp)
  ref = bias_act_ref(np.transpose(x, (0, 3, 1, 2)), b, act, gain, clamp)
  np.testing.assert_allclose(nchw(out), ref, atol=1e-6, rtol=1e-6)


def test_bias_act_rejects_unknown_activation():
  with pytest.raises(ValueError, match='unknown activation'):
    bias_act(jnp.zeros((1, 2)), act='gelu_typo')


@pytest.mark.parametrize('k,stride', [(1, 2), (2, 2), (3, 2), (4, 2), (3, 3)])
@pytest.mark.parametrize('target', TARGETS)
def test_transposed_conv_equals_the_dilated_one(k, stride, target):
  rng = np.random.RandomState(k * 10 + stride)
  x = jnp.asarray(rng.randn(2, 5, 6, 3), jnp.float32)
  w = jnp.asarray(rng.randn(4, 3, k, k), jnp.float32)
  ref = lax.conv_general_dilated(x, w[:, :, ::-1, ::-1], (1, 1), [(k - 1, k - 1), (k - 1, k - 1)],
                                 lhs_dilation=(stride, stride), dimension_numbers=_DN)
  with use_target(target):
    out = _conv_transpose(x, w, stride)
  assert out.shape == ref.shape
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


PADS_AND_STRIDES = [(2, ((1, 1), (1, 1)), 1), (3, ((2, 0), (0, 1)), 1), (2, ((0, 1), (1, 0)), 1),
                    (1, ((0, 0), (1, 2)), 1), (3, ((0, 0), (0, 0)), 2), (3, ((0, 0), (0, 0)), 3),
                    (2, ((0, 0), (0, 0)), 2)]


@pytest.mark.parametrize('k,pad,stride', PADS_AND_STRIDES)
def test_custom_conv_derivatives_equal_autodiff(k, pad, stride):
  """The hand-written VJPs (padded and strided convolutions): first and second derivatives match plain autodiff."""
  rng = np.random.RandomState(k * 10 + stride)
  x = jnp.asarray(rng.randn(2, 8, 9, 3), jnp.float32)  # odd and even sizes: strided outputs may leave a remainder
  w = jnp.asarray(rng.randn(4, 3, k, k), jnp.float32)

  def plain(x, w):
    return lax.conv_general_dilated(jnp.pad(x, [(0, 0), pad[0], pad[1], (0, 0)]), w, (stride, stride), 'VALID',
                                    dimension_numbers=_DN)

  y = jnp.asarray(rng.randn(*plain(x, w).shape), jnp.float32)
  custom = (lambda x, w: _padded_conv(x, w, pad)) if stride == 1 else (lambda x, w: _strided_conv(x, w, stride))
  np.testing.assert_allclose(custom(x, w), plain(x, w), rtol=1e-6, atol=1e-6)

  def first(conv):
    return jax.grad(lambda x, w: jnp.sum(conv(x, w) * y), argnums=(0, 1))(x, w)

  def second(conv):  # the path-length pattern: gradient w.r.t. the weights of a norm of an input gradient
    inner = lambda x, w: jax.grad(lambda x: jnp.sum(conv(x, w) * y))(x)
    return jax.grad(lambda x, w: jnp.sum(jnp.square(inner(x, w)) * jnp.arange(x.size).reshape(x.shape)),
                    argnums=(0, 1))(x, w)

  for got, want in zip(first(custom) + second(custom), first(plain) + second(plain)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(want))))


def test_ops_target_follows_the_backend_unless_overridden():
  assert ops_target() == ('tpu' if jax.default_backend() == 'tpu' else 'default')
  with use_target('tpu'):
    assert ops_target() == 'tpu'
    with use_target('default'):
      assert ops_target() == 'default'
    assert ops_target() == 'tpu'
  with pytest.raises(ValueError, match='ops target must be one of'):
    with use_target('gpu'):
      pass


@pytest.mark.parametrize('up,down', [(2, 1), (1, 2)])
def test_resampling_derivatives_agree_between_targets(up, down):
  """First and second (path-length / R1 pattern) derivatives of conv2d_resample are the same in both forms."""
  rng = np.random.RandomState(3)
  x = jnp.asarray(rng.randn(2, 8, 8, 3), jnp.float32)
  w = jnp.asarray(rng.randn(4, 3, 3, 3), jnp.float32)

  def derivatives():
    conv = lambda x, w: conv2d_resample(x, w, f=F, up=up, down=down, padding=1, flip_weight=(up == 1))
    y = jnp.asarray(np.random.RandomState(4).randn(*conv(x, w).shape), jnp.float32)
    inner = lambda x, w: jax.grad(lambda x: jnp.sum(conv(x, w) * y))(x)
    first = jax.grad(lambda x, w: jnp.sum(conv(x, w) * y), argnums=(0, 1))(x, w)
    second = jax.grad(lambda x, w: jnp.sum(jnp.square(inner(x, w))), argnums=(0, 1))(x, w)
    return first + second

  with use_target('default'):
    want = derivatives()
  with use_target('tpu'):
    got = derivatives()
  for g, v in zip(got, want):
    np.testing.assert_allclose(g, v, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(v))))
