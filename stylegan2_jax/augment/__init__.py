"""ADA augmentation (Karras et al., *Training Generative Adversarial Networks with Limited Data*).

A pure-JAX port of the official ``AugmentPipe``: ``preset`` / ``AugmentSettings`` say what runs,
``draw_augment_inputs`` makes every random draw, ``augment`` applies the pipe.
"""

from stylegan2_jax.augment.draws import DrawSpec, check_draws, draw_augment_inputs, draw_specs
from stylegan2_jax.augment.pipeline import augment, augment_with_intermediates
from stylegan2_jax.augment.settings import AUGPIPE_SPECS, DEFAULT_AUGPIPE, AugmentSettings, preset

__all__ = ['AUGPIPE_SPECS', 'DEFAULT_AUGPIPE', 'AugmentSettings', 'DrawSpec', 'augment',
           'augment_with_intermediates', 'check_draws', 'draw_augment_inputs', 'draw_specs', 'preset']
