"""The creative tools: style mixing, interpolation videos, latent maps, projection and "was this generated?".

Each tool is a Python function over a loaded generator (an official pickle or a
training workdir, see :func:`stylegan2_jax.generate.load_generator`) with a
``stylegan2-jax`` subcommand on top (:mod:`stylegan2_jax.tools.commands`).
"""
