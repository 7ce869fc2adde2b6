"""The ``stylegan2-jax`` subcommands, one module each: ``add_parser(sub)`` registers the arguments and the run.

Shared argument groups (the network source, rendering options) are in :mod:`.common`;
:mod:`stylegan2_jax.cli` puts the subcommands together.
"""
