"""``stylegan2-jax dataset {images,ffhq,lsun}``: raw data -> the prepared dataset training reads.

Every kind writes a tfds dataset in array_record format (read back without
TensorFlow), a ``stylegan2_report.json`` beside it with the summary and the
skipped files, and prints the summary and the ``--config.dataset`` to train on it.
"""

from __future__ import annotations

import argparse
import json
import logging

from stylegan2_jax.data.image_prep import TRANSFORMS


def add_parser(sub) -> None:
  """Registers ``dataset`` and its three kinds on an argparse subparsers object."""
  p = sub.add_parser('dataset', help='prepare a training dataset (images from a folder or zip, FFHQ, LSUN)')
  kinds = p.add_subparsers(dest='kind', required=True)

  images = kinds.add_parser('images', help='any folder tree or zip of PNG/JPEG/WebP/... images')
  images.add_argument('--source', required=True, help='folder or .zip of images')
  images.add_argument('--resolution', type=int, required=True, help='output side in pixels (power of two)')
  images.add_argument('--transform', choices=TRANSFORMS, default='center-crop',
                      help='center-crop (default), center-crop-wide (4:3 content in a square frame), pad, stretch')
  images.add_argument('--channels', type=int, choices=[1, 3], default=3, help='3 = RGB (default), 1 = grayscale')
  images.add_argument('--labels', action='store_true', help='class labels from the first-level subfolders')
  images.add_argument('--name', default=None, help='dataset name (default: <source name>_<resolution>)')
  images.add_argument('--max-images', type=int, default=None, help='use only the first N images (path order)')
  images.add_argument('--ignore-exif-orientation', action='store_true',
                      help='keep the stored pixels instead of turning photos as their EXIF orientation says')

  ffhq = kinds.add_parser('ffhq', help='FFHQ from the official 1024x1024 PNGs (folder or zip)')
  ffhq.add_argument('--source', required=True, help='the images1024x1024 folder, or a zip of it')
  ffhq.add_argument('--resolution', type=int, default=1024, help='4 ... 1024 (box-downsampled), default 1024')

  lsun = kinds.add_parser('lsun', help="LSUN cat/car/church/horse from tfds's lsun dataset")
  lsun.add_argument('--category', required=True, choices=['cat', 'car', 'church', 'horse'])
  lsun.add_argument('--resolution', type=int, default=None, help="default: the paper's (car 512, others 256)")
  lsun.add_argument('--max-images', type=int, default=None, help='use only the first N source images')
  lsun.add_argument('--lsun-data-dir', default=None, help="where tfds's lsun is prepared (default: tfds's)")

  for kind in (images, ffhq, lsun):
    kind.add_argument('--data-dir', default=None,
                      help='where to write the dataset (default: $TFDS_DATA_DIR or ~/tensorflow_datasets)')
    kind.add_argument('--threads', type=int, default=None, help='image decoding threads (default: cores + 2)')
  p.set_defaults(run=run_dataset_command)


def run_dataset_command(args: argparse.Namespace) -> dict:
  """Prepares the dataset the arguments describe and prints its summary; returns the summary."""
  from stylegan2_jax.data.datasets import DATASETS, default_data_dir  # pylint: disable=import-outside-toplevel
  from stylegan2_jax.data.prepare import prepare  # pylint: disable=import-outside-toplevel
  logging.getLogger('absl').setLevel(logging.ERROR)  # tfds' notes on custom configs and OpenCV
  data_dir = str(default_data_dir(args.data_dir or ''))
  if args.kind == 'images':
    from stylegan2_jax.data.image_collection import image_collection_builder  # pylint: disable=import-outside-toplevel
    builder = image_collection_builder(args.source, args.resolution, data_dir, args.name, args.transform,
                                       args.channels, args.labels, args.max_images, args.threads,
                                       exif_transpose=not args.ignore_exif_orientation)
    train_with = builder.data_dir
    details = dict(source=args.source, transform=args.transform)
  elif args.kind == 'ffhq':
    from stylegan2_jax.data.ffhq import ffhq_builder  # pylint: disable=import-outside-toplevel
    builder = ffhq_builder(args.resolution, args.source, data_dir, args.threads)
    train_with = 'ffhq'
    details = dict(source=args.source, transform='box downsampling from 1024')
  else:
    from stylegan2_jax.data.lsun import LSUN_CATEGORIES, lsun_builder  # pylint: disable=import-outside-toplevel
    builder = lsun_builder(args.category, args.resolution, data_dir, args.lsun_data_dir, args.max_images,
                           args.threads)
    train_with = f'lsun_{args.category}' if not args.max_images else builder.data_dir
    details = dict(source=f'tfds lsun/{LSUN_CATEGORIES[args.category][0]}',
                   transform=LSUN_CATEGORIES[args.category][2])
  summary = prepare(builder, details)
  print(format_summary(summary))
  flags = f'--config.dataset={train_with} --config.resolution={summary["resolution"]}'
  if train_with in DATASETS and args.data_dir:
    flags += f' --config.data_dir={args.data_dir}'
  if summary['labels']:
    flags += ' --config.conditional=True'
  print(f'train on it with: {flags}')
  return summary


def format_summary(summary: dict, max_listed: int = 20) -> str:
  """The human-readable summary: count, resolution, labels, skipped files by reason (the first few listed)."""
  lines = [f'dataset {summary["name"]} in {summary["path"]}',
           f'  {summary["images"]:,} images, {summary["resolution"]}x{summary["resolution"]}, '
           f'{"RGB" if summary["channels"] == 3 else "grayscale"}',
           f'  labels: {", ".join(summary["labels"]) if summary["labels"] else "none"}',
           f'  skipped: {summary["skipped"]}' + (f' {json.dumps(summary["skipped_by_reason"])}'
                                                  if summary['skipped'] else '')]
  for entry in summary['skipped_files'][:max_listed]:
    lines.append(f'    {entry["item"]}: {entry["reason"]}')
  if summary['skipped'] > max_listed:
    lines.append(f'    ... (all {summary["skipped"]} in {summary["path"]}/stylegan2_report.json)')
  return '\n'.join(lines)
