"""``stylegan2-jax web --serve``: the site on localhost, with the headers that let the page use threads."""

from __future__ import annotations

import functools
import http
import http.server
import os
import pathlib
import stat
import sys
import urllib.parse

# Cross-origin isolation lets onnxruntime-web run its WebAssembly on several threads (SharedArrayBuffer).
HEADERS = {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
           'Cache-Control': 'no-cache'}


class RequestRefused(Exception):
  """A request the site does not answer with a file: an HTTP status and its reason."""

  def __init__(self, status: http.HTTPStatus, reason: str):
    super().__init__(reason)
    self.status, self.reason = status, reason


def site_file(root: pathlib.Path, url_path: str) -> pathlib.Path:
  """The file of ``root`` (a resolved directory) that ``url_path`` names, or RequestRefused.

  Only regular files inside the site are served: the path is resolved (symlinks followed) and must stay
  under ``root``; a directory gives its index.html, or 404 (no listings). Undecodable paths and paths with
  NUL bytes are bad requests (400). A directory with an index.html is returned as the directory when the
  URL lacks its trailing slash, so the caller redirects.
  """
  path = urllib.parse.urlsplit(url_path).path
  if not path.startswith('/'):
    raise RequestRefused(http.HTTPStatus.BAD_REQUEST, 'the path must start with /')
  try:
    path = urllib.parse.unquote(path, errors='strict')
  except UnicodeDecodeError:
    raise RequestRefused(http.HTTPStatus.BAD_REQUEST, 'the path is not UTF-8') from None
  if '\0' in path:
    raise RequestRefused(http.HTTPStatus.BAD_REQUEST, 'the path holds a NUL byte')
  try:
    target = root.joinpath(*[word for word in path.split('/') if word]).resolve()
    if not target.is_relative_to(root):
      raise RequestRefused(http.HTTPStatus.NOT_FOUND, 'not in the site')
    mode = target.stat().st_mode
    if stat.S_ISDIR(mode):
      index = (target / 'index.html').resolve()
      if not index.is_relative_to(root) or not stat.S_ISREG(index.stat().st_mode):
        raise RequestRefused(http.HTTPStatus.NOT_FOUND, 'no such file')
      return index if path.endswith('/') else target
    if not stat.S_ISREG(mode) or path.endswith('/'):
      raise RequestRefused(http.HTTPStatus.NOT_FOUND, 'no such file')
    return target
  except (OSError, ValueError):
    raise RequestRefused(http.HTTPStatus.NOT_FOUND, 'no such file') from None


class SiteHandler(http.server.SimpleHTTPRequestHandler):
  """Static files with the right types for the page (.wasm, .mjs, .onnx) and the isolation headers.

  Serves only regular files inside the site (see ``site_file``); never lists directories.
  """
  extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, '.wasm': 'application/wasm',
                    '.mjs': 'text/javascript', '.js': 'text/javascript', '.onnx': 'application/octet-stream',
                    '.json': 'application/json'}

  def send_head(self):
    """Resolves the request to a site file (or answers 400/404) before the standard handling."""
    try:
      self._site_file = site_file(pathlib.Path(self.directory).resolve(), self.path)
    except RequestRefused as refused:
      self.send_error(refused.status, refused.reason)
      return None
    return super().send_head()

  def translate_path(self, path):
    return str(self._site_file)

  def list_directory(self, path):
    self.send_error(http.HTTPStatus.NOT_FOUND, 'no such file')
    return None

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
