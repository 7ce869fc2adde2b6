"""Skipping without a browser, and reading the demo page's image and latents, for the browser tests."""

from __future__ import annotations

import importlib.util
import os

import jax.numpy as jnp
import numpy as np
import pytest

from stylegan2_jax.sampling import class_labels, seed_latents, to_uint8
from stylegan2_jax.web.headless import chromium_path
from stylegan2_jax.web.static_site import PAGE_DIR


def browser_missing() -> str | None:
  """Why the browser tests cannot run here, or None."""
  if importlib.util.find_spec('playwright') is None:
    return "Playwright is not installed (pip install -e '.[test]')"
  if not chromium_path():
    return 'Chromium is not installed (Debian/Ubuntu: apt-get install chromium; or set STYLEGAN2_JAX_CHROMIUM)'
  if not (PAGE_DIR / 'index.html').is_file():
    return 'the demo page is not built (cd web && npm ci && npm run build; needs Node.js 20+)'
  return None


def require_browser() -> None:
  """Skips the calling test (or fails it where $STYLEGAN2_JAX_REQUIRE_BROWSER is set, as in CI) without a browser."""
  reason = browser_missing()
  if reason and os.environ.get('STYLEGAN2_JAX_REQUIRE_BROWSER'):
    pytest.fail(f'browser tests required but cannot run: {reason}')
  if reason:
    pytest.skip(reason)


def settle(page) -> None:
  """Waits until every requested render has finished."""
  page.evaluate('window.stylegan.idle()')


def page_image(page) -> np.ndarray:
  """The last rendered image as float32 [C, R, R] in [-1, 1]."""
  info = page.evaluate('window.stylegan.info')
  flat = np.asarray(page.evaluate('Array.from(window.stylegan.last.img)'), np.float32)
  return flat.reshape(info['img_channels'], info['img_resolution'], info['img_resolution'])


def page_ws(page) -> np.ndarray:
  """The last rendered image's ws [num_ws, w_dim]."""
  info = page.evaluate('window.stylegan.info')
  return np.asarray(page.evaluate('Array.from(window.stylegan.last.ws)'), np.float32).reshape(info['num_ws'], -1)


def canvas_pixels(page) -> np.ndarray:
  """The canvas as uint8 [R, R, 4]."""
  data = page.evaluate("""() => { const c = document.getElementById('image');
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
  res = page.evaluate('window.stylegan.info.img_resolution')
  return np.asarray(data, np.uint8).reshape(res, res, 4)


def jax_ws(net, seed: int, psi: float, class_idx: int = 0) -> np.ndarray:
  """ws [num_ws, w_dim] of a seed as ``stylegan2-jax generate`` computes it (its latents and labels)."""
  G = net.module
  z = seed_latents([seed], G.z_dim)
  c = class_labels(1, G.c_dim, class_idx) if G.c_dim else None
  ws = G.apply(net.variables, jnp.asarray(z), None if c is None else jnp.asarray(c), truncation_psi=psi, method='map')
  return np.array(ws[0])


def jax_image(net, ws: np.ndarray) -> np.ndarray:
  """The image [C, R, R] of ws [num_ws, w_dim] (constant noise), as G.apply computes it."""
  img = net.module.apply(net.variables, jnp.asarray(ws[None]), noise_mode='const', method='synthesize')
  return np.asarray(img)[0]


def expected_pixels(img: np.ndarray) -> np.ndarray:
  """RGB uint8 [R, R, 3] of an image [C, R, R], as the Python tools convert it (grey repeated)."""
  rgb = np.asarray(to_uint8(jnp.asarray(img[None])))[0]
  return np.repeat(rgb, 3, axis=-1) if rgb.shape[-1] == 1 else rgb
