"""Our generator as a TensorFlow SavedModel through ``jax2tf`` (extra ``tf``).

The SavedModel holds the parameters as TF variables and one serving signature,
``serving_default(z [N, z_dim], psi [])`` (plus ``c [N, c_dim]`` for conditional
networks) -> ``{'img': [N, C, R, R]}`` in [-1, 1], with a dynamic batch size. The
noise mode and truncation cutoff are fixed at export. Load it with
``tf.saved_model.load(path).signatures['serving_default'](z=..., psi=...)``.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from stylegan2_jax.networks.handle import LoadedNetwork
from stylegan2_jax.interop.torch_export import require_extra


def generator_fn(net: LoadedNetwork, noise_mode: str = 'const', truncation_cutoff: int | None = None):
  """``f(variables, z, c, psi) -> img`` with a traced truncation psi (``G.apply`` takes psi as a constant)."""
  G = net.module

  def generate(variables, z, c, psi):
    ws = G.apply(variables, z, c, method='map')
    w_avg = variables['buffers']['mapping']['w_avg']
    truncated = w_avg + psi * (ws - w_avg)
    if truncation_cutoff is not None:
      truncated = jnp.where(jnp.arange(G.num_ws)[None, :, None] < truncation_cutoff, truncated, ws)
    return G.apply(variables, truncated, noise_mode=noise_mode, method='synthesize')
  return generate


def export_savedmodel(net: LoadedNetwork, out: str | os.PathLike, noise_mode: str = 'const',
                      truncation_cutoff: int | None = None) -> None:
  """Writes the generator ``net`` as a SavedModel directory ``out`` with the (z, [c,] psi) -> img signature."""
  tf = require_extra('tensorflow', 'tf', 'the SavedModel export')
  from jax.experimental import jax2tf  # pylint: disable=import-outside-toplevel
  if noise_mode not in ('const', 'none'):
    raise ValueError(f"the SavedModel export supports noise_mode 'const' or 'none', got {noise_mode!r}")
  G = net.module
  variables = jax.tree.map(lambda a: np.asarray(a, np.float32), jax.device_get(net.variables))
  tf_variables = tf.nest.map_structure(lambda a: tf.Variable(a, trainable=False), variables)
  generate = generator_fn(net, noise_mode, truncation_cutoff)
  converted = jax2tf.convert(generate, with_gradient=False,
                             polymorphic_shapes=[None, '(b, _)', '(b, _)', None])
  module = tf.Module()
  module.variables_tree = tf_variables
  signature = [tf.TensorSpec([None, G.z_dim], tf.float32, name='z')]
  if G.c_dim:
    signature.append(tf.TensorSpec([None, G.c_dim], tf.float32, name='c'))
  signature.append(tf.TensorSpec([], tf.float32, name='psi'))

  if G.c_dim:
    def serve(z, c, psi):
      return {'img': converted(tf_variables, z, c, psi)}
  else:
    def serve(z, psi):
      c = tf.zeros([tf.shape(z)[0], 0], tf.float32)
      return {'img': converted(tf_variables, z, c, psi)}
  module.serve = tf.function(serve, autograph=False, input_signature=signature)
  tf.saved_model.save(module, str(out), signatures={'serving_default': module.serve.get_concrete_function()})
