#!/bin/bash
# The rebuilt arithmetic family on one GPU of this workplace's device tool (run from the repository root there).
# Before the call, here:  echo /.whl/ >> .git/info/exclude; echo /.gpu_data/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl rapidfuzz==3.14.6
#   mkdir -p .gpu_data && cp -r ../shared/data/bigbench-pypi-tasks .gpu_data/   # until issue 15 moves data in
# Then: run(command="bash dev/family-rebuild/gpu_sweep.sh", carry=[".whl", ".gpu_data"], timeout_s=600).
# JOBS shards share the GPU (small models are bound by per-step overhead, not by the GPU's arithmetic).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" MIRAGE_DATA_DIR="$PWD/.gpu_data" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
nvidia-smi --query-gpu=name,memory.total --format=csv
start=$(date +%s)
python3 -m mirage_utils arithmetic list | tac | \
  xargs -P "${JOBS:-4}" -L 1 sh -c 'python3 -m mirage_utils arithmetic shard --model "$0" --seed "$1" \
      --device cuda --quiet --no-checkpoints > "/tmp/shard_$0_$1.log" 2>&1 && echo "done $0 $1 $(date +%T)" \
      || { echo "FAILED $0 $1"; tail -20 "/tmp/shard_$0_$1.log"; }'
echo "all shards: $(( $(date +%s) - start )) s"
python3 -m mirage_utils arithmetic merge
tar -C data/artifacts/arithmetic/family -czf "$OUT/family.tgz" shards config.json models.csv metrics.csv \
    training_log.csv outputs.parquet pass_until.csv checkpoint_eval.csv multiple_choice.parquet
