#!/usr/bin/env bash
# One device call (JAX GPU machine, no TensorFlow): the `keras_fer train` runs listed in RUNS_FILE, one
# line each (`NAME ARGS...`), side by side on the one GPU. Each run's history, config and log come
# back in $OUT/results.tgz; with KEEP="NAME ..." those runs' best.keras too.
# Data: .gpu/faces.npz (`python -m keras_fer.data.pack`, 35 MiB, FER2013 + FER+); wheels in .whl:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
#     --platform manylinux_2_17_x86_64 -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0
# The device tool carries at most 64 MiB (tracked files, the pack, the wheels): with the shipped .tflite
# files tracked too, move them out of the tree for the call (nothing there needs them) and back after.
# Call: carry [".gpu/faces.npz", ".whl"], timeout_s 590,
#   BUDGET=440 RUNS_FILE=benchmarks/levers.runs bash scripts/gpu_runs.sh
# Local check (CPU, jax is in .venv):
#   PY=.venv/bin/python BUDGET=60 LIMIT=256 BATCH=32 OUT=/tmp/gpu_check RUNS_FILE=... bash scripts/gpu_runs.sh
# BUDGET counts from each fit's start, the first epoch's XLA compilation (2-3.5 min) included;
# KILL_AFTER (default BUDGET + 90 s) stops a run that overruns it, keeping its last best.keras.
set -u
if [ -z "${PY:-}" ]; then  # on the device: the package is not installed there
  if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
      && export PYTHONPATH=/tmp/site || exit 1
  fi
  [ -e keras_fer/cli ] || ln -s ../cli keras_fer/cli  # what the install's package-dir maps
fi
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_MEM_FRACTION=${MEM_FRACTION:-0.15} PYTHONUNBUFFERED=1
nvidia-smi -L 2>/dev/null
PY=${PY:-python3}
BUDGET=${BUDGET:-450}
DIR=/tmp/runs; mkdir -p $DIR "$OUT"
names=()
while read -r name args; do
  [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
  names+=("$name")
  timeout -s INT ${KILL_AFTER:-$((BUDGET + 90))} $PY -m keras_fer train $args --time-budget $BUDGET \
    ${BATCH:+--batch-size $BATCH} ${LIMIT:+--limit $LIMIT} --out $DIR/$name > $DIR/$name.log 2>&1 &
done < "$RUNS_FILE"
wait
for name in "${names[@]}"; do
  echo "== $name"; grep -E "^Epoch|step|Error|best validation" $DIR/$name.log | tail -n 5
  case " ${KEEP:-} " in *" $name "*) [ -f $DIR/$name/best.keras ] && cp $DIR/$name/best.keras "$OUT/${name}_best.keras" ;; esac
done
(cd $DIR && tar czf "$OUT/results.tgz" --exclude='*.keras' --exclude=backup --exclude=splits.json .)
ls -la "$OUT"
