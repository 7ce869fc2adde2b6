"""The creative tools: style mixing, interpolation videos, latent maps, projection and "was this generated?".

Each tool is a Python function over a :class:`~stylegan2_jax.tools.render.Renderer`
(a loaded generator, see :func:`stylegan2_jax.loading.load_generator`) with a
``stylegan2-jax`` subcommand on top (:mod:`stylegan2_jax.commands`).
"""
