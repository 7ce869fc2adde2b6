"""A phase's loss terms take their gradients one after another (``sequential_grads``), as the official code
calls ``backward()`` per term: D's activations on one set of images are live at a time, not on all of them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stylegan2_jax.training.steps import sequential_grads, summed_grads
from test_accumulation import make_steps, recorded_phase


def test_sequential_grads_sum_the_parts_and_pass_the_carry():
  def part_a(p, carry, x):
    return jnp.sum(jnp.sin(p['w'] * x)), (carry + 1, dict(a=carry))

  def part_b(p, carry, x):
    return jnp.sum(jnp.cos(p['w'] * x) * p['v']), (carry * 10, dict(b=carry))

  params, x = dict(w=jnp.arange(3.0), v=jnp.float32(2.0)), jnp.linspace(0.0, 1.0, 3)
  expected = jax.grad(lambda p: part_a(p, 1.0, x)[0] + part_b(p, 2.0, x)[0])(params)
  for grads_of in (sequential_grads, summed_grads):
    grads, carry, metrics = jax.jit(lambda p: grads_of([part_a, part_b], p, 1.0, x))(params)
    for name in params:
      np.testing.assert_allclose(grads[name], expected[name], rtol=1e-6, err_msg=name)
    assert float(carry) == 20.0 and {k: float(v) for k, v in metrics.items()} == dict(a=1.0, b=2.0)


def barriers(fn, *args) -> int:
  """How many optimization barriers the traced program of ``fn(*args)`` holds (nested jaxprs included)."""
  return str(jax.make_jaxpr(fn)(*args)).count('optimization_barrier')


@pytest.mark.parametrize('rounds', [1, 2])
def test_dmain_finishes_the_generated_images_gradient_before_d_sees_the_reals(rounds):
  # Dmain: D(G(z)) then D(x), one barrier between; with R1 in the same step (no lazy regularization) a second.
  steps, state, real, labels = make_steps(rounds)
  assert barriers(steps.d_step, state, real, labels) == 1
  assert barriers(steps.d_reg_step, state, real, labels) == 0
  steps, state, real, labels = make_steps(rounds, D_reg_interval=None, G_reg_interval=None)
  assert barriers(steps.d_step, state, real, labels) == 2
  assert barriers(steps.g_step, state, labels) == 1  # Gmain, then the path-length term


def test_interleaved_terms_give_the_same_gradients_without_ordering():
  # sequential_terms=False (a memory-for-bytes trade on accelerators): no barrier, the same Dmain gradients.
  grads = {}
  for sequential in (True, False):
    steps, state, real, labels = make_steps(2, sequential_terms=sequential)
    assert barriers(steps.d_step, state, real, labels) == int(sequential)
    grads[sequential], _, _ = recorded_phase(steps, state, 'Dmain', real, labels)
  for name, grad in grads[True].items():
    np.testing.assert_allclose(grads[False][name], grad, rtol=1e-5, atol=1e-7 * np.abs(grad).max(), err_msg=name)
