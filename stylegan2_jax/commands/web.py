"""``stylegan2-jax web``: write the browser demo for a network, serve it, or both."""

from __future__ import annotations

from stylegan2_jax.commands.common import add_network_args


def add_parser(sub) -> None:
  """Registers ``stylegan2-jax web``."""
  p = sub.add_parser('web', help='the browser demo: write a static site running the generator in the browser '
                     '(--network N --out DIR) and/or serve it on localhost (--serve)')
  add_network_args(p, required=False, class_label=False)
  p.add_argument('--out', default='site', help='the site directory (default: site)')
  p.add_argument('--noise-mode', choices=['const', 'none'], default='const', help='noise inputs baked in')
  p.add_argument('--trunc-cutoff', type=int, default=None, help='truncate only the first N ws (default all)')
  p.add_argument('--serve', action='store_true', help='serve the site on localhost (without --network: an existing site)')
  p.add_argument('--host', default='127.0.0.1', help='--serve: address to listen on (default 127.0.0.1)')
  p.add_argument('--port', type=int, default=8000, help='--serve: port (default 8000; 0 picks a free one)')

  def run(args) -> None:
    from stylegan2_jax.web.server import serve  # pylint: disable=import-outside-toplevel
    from stylegan2_jax.web.static_site import write_site  # pylint: disable=import-outside-toplevel
    if args.network is None and not args.serve:
      raise ValueError('give --network N to write a site, --serve to serve one, or both')
    if args.network is not None:
      site = write_site(args.network, args.out, args.checkpoint, args.noise_mode, args.trunc_cutoff)
      print(f'wrote the demo site to {site}', flush=True)
    if args.serve:
      serve(args.out, args.host, args.port)
  p.set_defaults(run=run)
