#!/usr/bin/env bash
# Train on a Cloud TPU VM pod slice: the same command runs on every worker, and
# jax.distributed.initialize() (--distributed) finds the other workers by itself.
#
#   export TPU_NAME=sg2-v4-32 ZONE=us-central2-b          # PROJECT=... if not gcloud's default
#   launch/tpu_pod.sh setup                               # copy this checkout to every worker, install
#   launch/tpu_pod.sh train --config configs/ffhq.py:res=256 --workdir /mnt/runs/ffhq256
#   launch/tpu_pod.sh run 'tail -n 3 /mnt/runs/ffhq256/metrics.jsonl'   # any command on every worker
#
# The workdir must be a filesystem every worker sees at the same path (a gcsfuse
# mount of a bucket, or Filestore NFS); the trainer refuses one they do not share.
# Environment: TPU_NAME, ZONE (required); PROJECT; REMOTE_DIR (checkout on the
# workers, default ~/stylegan2-jax); DRY_RUN=1 prints the gcloud commands instead.
set -euo pipefail

: "${TPU_NAME:?set TPU_NAME to the TPU VM name}"
: "${ZONE:?set ZONE to the TPU zone}"
REMOTE_DIR="${REMOTE_DIR:-~/stylegan2-jax}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
GCLOUD=(gcloud compute tpus tpu-vm)
TARGET=("$TPU_NAME" "--zone=$ZONE" ${PROJECT:+"--project=$PROJECT"})

run() {  # prints or runs a command
  if [ "${DRY_RUN:-0}" = 1 ]; then printf '%q ' "$@"; echo; else "$@"; fi
}

on_all_workers() {
  run "${GCLOUD[@]}" ssh "${TARGET[@]}" --worker=all --command="$1"
}

case "${1:-}" in
  setup)
    archive="$(mktemp -d)/stylegan2-jax.tar.gz"
    run tar -C "$REPO" --exclude=.venv --exclude=runs --exclude=.git -czf "$archive" .
    run "${GCLOUD[@]}" scp "${TARGET[@]}" --worker=all "$archive" "stylegan2-jax.tar.gz"
    on_all_workers "mkdir -p $REMOTE_DIR && tar -C $REMOTE_DIR -xzf stylegan2-jax.tar.gz && cd $REMOTE_DIR && \
python3 -m venv .venv && .venv/bin/pip install -q -U 'jax[tpu]' && .venv/bin/pip install -q -e ."
    ;;
  train)
    shift
    flags="$(printf '%q ' "$@")"
    on_all_workers "cd $REMOTE_DIR && .venv/bin/python -m stylegan2_jax.main --distributed $flags"
    ;;
  run)
    shift
    on_all_workers "$*"
    ;;
  *)
    echo "usage: TPU_NAME=... ZONE=... $0 setup | train TRAINER_FLAGS... | run 'COMMAND'" >&2
    exit 2
    ;;
esac
