"""``stylegan2-jax summarize``: the final metrics of a sweep's runs as a table (see :mod:`stylegan2_jax.summarize`)."""

from __future__ import annotations

import pathlib

from stylegan2_jax.summarize import collect, format_table, summary_table


def add_parser(sub) -> None:
  """Registers ``stylegan2-jax summarize``."""
  p = sub.add_parser('summarize', help="collect the final metrics of a sweep's runs into a Markdown/CSV table")
  p.add_argument('paths', nargs='+', help='sweep roots (holding sweep.json) or training workdirs')
  p.add_argument('--rows', default=None, help='setting whose values are the rows (default: the sweep LAYOUT)')
  p.add_argument('--cols', default=None, help='setting whose values are the column groups')
  p.add_argument('--metrics', default=None, help='comma-separated result names (default: LAYOUT or all found)')
  p.add_argument('--format', choices=['md', 'csv'], default=None, help='table format (default: from --out, else md)')
  p.add_argument('--out', default=None, help='write the table to this file as well as printing it')

  def run(args) -> None:
    runs, layout = collect(args.paths)
    rows, cols = args.rows or layout.get('rows'), args.cols or layout.get('cols')
    metrics = args.metrics.split(',') if args.metrics else layout.get('metrics')
    fmt = args.format or ('csv' if args.out and args.out.endswith('.csv') else 'md')
    text = format_table(*summary_table(runs, rows, cols, metrics), fmt)
    print(text, end='')
    if args.out:
      pathlib.Path(args.out).write_text(text)
  p.set_defaults(run=run)
