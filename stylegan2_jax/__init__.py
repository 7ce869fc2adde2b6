"""StyleGAN2 in JAX/Flax, numerically identical to NVIDIA's official implementation."""

__version__ = '0.1.0'
