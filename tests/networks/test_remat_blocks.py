"""Rematerialized blocks (``remat=True``): the same parameters, bit-identical numbers per block, really remat'ed."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stylegan2_jax.networks.config import (discriminator_from_kwargs, generator_from_kwargs, init_discriminator,
                                           init_generator, module_kwargs)

RES = 16
G_KWARGS = dict(z_dim=8, c_dim=3, w_dim=8, img_resolution=RES, img_channels=3, mapping_kwargs=dict(num_layers=2),
                synthesis_kwargs=dict(channel_base=64, channel_max=8))
D_KWARGS = dict(c_dim=3, img_resolution=RES, img_channels=3, channel_base=64, channel_max=8)
# The reduced-precision variant: the top two resolutions in float16 with the official clamp.
FP16 = dict(num_fp16_res=2, conv_clamp=256)
# What jax.checkpoint traces to (named 'remat2' in jax 0.10; older names kept so a rename fails loudly, not silently).
REMAT_PRIMITIVES = ('remat2', 'checkpoint', 'remat')


def remat_count(closed_jaxpr) -> int:
  """Rematerialized regions in a jaxpr, nested ones included."""
  def count(jaxpr):
    total = 0
    for eqn in jaxpr.eqns:
      total += eqn.primitive.name in REMAT_PRIMITIVES
      for param in eqn.params.values():
        for sub in param if isinstance(param, (list, tuple)) else (param,):
          inner = getattr(sub, 'jaxpr', sub)  # a ClosedJaxpr's or a Jaxpr's equations
          if hasattr(inner, 'eqns'):
            total += count(inner)
    return total
  return count(closed_jaxpr.jaxpr)


def networks(architecture: str = 'skip', fp16: bool = False):
  g_kwargs = {**G_KWARGS, 'synthesis_kwargs': {**G_KWARGS['synthesis_kwargs'], 'architecture': architecture,
                                               **(FP16 if fp16 else {})}}
  d_kwargs = {**D_KWARGS, 'architecture': architecture, **(FP16 if fp16 else {})}
  return generator_from_kwargs(g_kwargs), discriminator_from_kwargs(d_kwargs)


def inputs():
  rs = np.random.RandomState(0)
  z = jnp.asarray(rs.randn(4, 8), jnp.float32)
  c = jnp.asarray(np.eye(3, dtype=np.float32)[rs.randint(0, 3, 4)])
  img = jnp.asarray(rs.randn(4, 3, RES, RES), jnp.float32)
  return z, c, img


def assert_trees_equal(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))


def test_same_parameter_tree_and_initial_values():
  G, D = networks()
  assert_trees_equal(init_generator(G, jax.random.PRNGKey(1)), init_generator(G.clone(remat=True), jax.random.PRNGKey(1)))
  assert_trees_equal(init_discriminator(D, jax.random.PRNGKey(1)),
                     init_discriminator(D.clone(remat=True), jax.random.PRNGKey(1)))


def test_remat_is_not_a_constructor_argument():
  G, D = networks()
  assert module_kwargs(G.clone(remat=True)) == module_kwargs(G)
  assert module_kwargs(D.clone(remat=True)) == module_kwargs(D)
  assert 'remat' not in module_kwargs(G) and 'remat' not in module_kwargs(D)


def test_every_block_is_rematerialized_and_nothing_else():
  G, D = networks()
  z, c, img = inputs()
  g_vars, d_vars = init_generator(G, jax.random.PRNGKey(1)), init_discriminator(D, jax.random.PRNGKey(1))
  for remat, expected_g, expected_d in ((False, 0, 0), (True, 3, 2)):  # G b4 b8 b16; D b16 b8 (b4 is the epilogue)
    g = G.clone(remat=remat)
    g_jaxpr = jax.make_jaxpr(lambda v: g.apply(v, z, c, rngs={'noise': jax.random.PRNGKey(2)}))(g_vars)
    d = D.clone(remat=remat)
    d_jaxpr = jax.make_jaxpr(lambda v: d.apply(v, img, c))(d_vars)
    assert (remat_count(g_jaxpr), remat_count(d_jaxpr)) == (expected_g, expected_d)


@pytest.mark.parametrize('architecture,fp16', [('skip', False), ('resnet', True)])
def test_same_outputs_and_gradients(architecture, fp16):
  G, D = networks(architecture, fp16)
  z, c, img = inputs()
  g_vars, d_vars = init_generator(G, jax.random.PRNGKey(1)), init_discriminator(D, jax.random.PRNGKey(1))
  noise = {'noise': jax.random.PRNGKey(2)}

  def results(remat: bool):
    g, d = G.clone(remat=remat), D.clone(remat=remat)

    def g_loss(params):  # random noise from the rng: the draws must not move under remat
      return jnp.sum(d.apply(d_vars, g.apply({**g_vars, 'params': params}, z, c, rngs=noise), c))

    def r1(image):  # the regularizer's double backward pass
      return jnp.sum(jax.grad(lambda x: jnp.sum(d.apply(d_vars, x, c)))(image) ** 2)

    return dict(images=g.apply(g_vars, z, c, rngs=noise), logits=d.apply(d_vars, img, c),
                g_grads=jax.jit(jax.grad(g_loss))(g_vars['params']), r1_grad=jax.jit(jax.grad(r1))(img))

  assert_trees_equal(results(True), results(False))
