"""``stylegan2-jax web --serve``: the site on localhost, with the headers that let the page use threads."""

from __future__ import annotations

import functools
import http.server
import os
import pathlib
import sys

# Cross-origin isolation lets onnxruntime-web run its WebAssembly on several threads (SharedArrayBuffer).
HEADERS = {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
           'Cache-Control': 'no-cache'}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
  """Static files with the right types for the page (.wasm, .mjs, .onnx) and the isolation headers."""
  extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, '.wasm': 'application/wasm',
                    '.mjs': 'text/javascript', '.js': 'text/javascript', '.onnx': 'application/octet-stream',
                    '.json': 'application/json'}

  def end_headers(self):
    for name, value in HEADERS.items():
      self.send_header(name, value)
    super().end_headers()

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    if os.environ.get('STYLEGAN2_JAX_WEB_LOG'):
      super().log_message(format, *args)


class SiteServer(http.server.ThreadingHTTPServer):
  """A threading HTTP server that stays quiet when a browser drops a connection (closing a tab, reloading)."""
  daemon_threads = True

  def handle_error(self, request, client_address):
    if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
      super().handle_error(request, client_address)


def make_server(site: str | os.PathLike, host: str = '127.0.0.1', port: int = 8000) -> SiteServer:
  """An HTTP server for ``site`` (not yet serving); port 0 picks a free port."""
  site = pathlib.Path(site)
  if not (site / 'index.html').is_file():
    raise FileNotFoundError(f'{site} is not a site (no index.html); write one with stylegan2-jax web --network N '
                            f'--out {site}')
  handler = functools.partial(SiteHandler, directory=str(site))
  return SiteServer((host, port), handler)


def serve(site: str | os.PathLike, host: str = '127.0.0.1', port: int = 8000) -> None:
  """Serves ``site`` until interrupted."""
  server = make_server(site, host, port)
  print(f'serving {site} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)', flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()
