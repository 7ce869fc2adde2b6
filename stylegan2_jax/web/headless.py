"""Driving the demo page in a headless Chromium (Debian's, through Playwright), for tests and benchmarks.

Nothing here downloads a browser: Chromium comes from $STYLEGAN2_JAX_CHROMIUM or
``chromium`` / ``chromium-browser`` on PATH, and Playwright (``pip install playwright``,
in the ``test`` extra) only drives it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading

from stylegan2_jax.web.server import make_server

# No sandbox (containers, root), no GPU, and none of Chromium's own network traffic.
CHROMIUM_FLAGS = ('--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
                  '--disable-background-networking', '--disable-component-update')


def chromium_path() -> str | None:
  """Chromium to drive: $STYLEGAN2_JAX_CHROMIUM, else chromium / chromium-browser on PATH, else None."""
  return os.environ.get('STYLEGAN2_JAX_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')


@contextlib.contextmanager
def served(site):
  """Serves ``site`` on a free localhost port in a background thread; yields its URL."""
  server = make_server(site, port=0)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield f'http://127.0.0.1:{server.server_address[1]}/'
  finally:
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def chromium():
  """A headless Chromium browser (a Playwright ``Browser``)."""
  from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel
  path = chromium_path()
  if path is None:
    raise FileNotFoundError('Chromium not found: install it (Debian/Ubuntu: apt-get install chromium) or set '
                            'STYLEGAN2_JAX_CHROMIUM')
  with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=path, args=list(CHROMIUM_FLAGS))
    try:
      yield browser
    finally:
      browser.close()


def wait_first_image(page, timeout_ms: int = 120_000) -> None:
  """Waits until the page shows its first image; raises with the page's status line if it shows an error."""
  page.wait_for_function('window.stylegan && (window.stylegan.stats.firstImageMs !== null '
                         "|| document.getElementById('status').classList.contains('error'))", timeout=timeout_ms)
  if 'error' in (page.get_attribute('#status', 'class') or ''):
    raise RuntimeError(f"the page failed: {page.text_content('#status')}")
