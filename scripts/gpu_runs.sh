#!/usr/bin/env bash
# One device call (JAX GPU machine, no TensorFlow): the training runs listed in RUNS_FILE, one line
# each (`NAME ARGS...`, ARGS for scripts/train_arrays.py), side by side on the one GPU. Each run's
# best.keras and a tgz of all logs/histories come back in $OUT.
# Data: .gpu/faces.npz from scripts/face_pack.py (35 MiB, FER2013 + FER+); wheels in .whl (see
# scripts/gpu_fer2013.sh). Call: carry [".gpu/faces.npz", ".whl"], timeout_s 590,
#   BUDGET=440 RUNS_FILE=scripts/finetune_96.runs bash scripts/gpu_runs.sh
# Local check (CPU, needs jax in .venv):
#   PY=.venv/bin/python BUDGET=60 LIMIT=256 BATCH=32 OUT=/tmp/gpu_check RUNS_FILE=... bash scripts/gpu_runs.sh
# BUDGET counts from each fit's start, the first epoch's XLA compilation (2-3.5 min) included;
# KILL_AFTER (default BUDGET + 90 s) stops a run that overruns it, keeping its last best.keras.
set -u
if [ -d .whl ] && [ -z "${PY:-}" ]; then  # on the device; a local check brings its own
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site || exit 1
fi
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_MEM_FRACTION=${MEM_FRACTION:-0.25} PYTHONUNBUFFERED=1
nvidia-smi -L 2>/dev/null
PY=${PY:-python3}
BUDGET=${BUDGET:-450}
DIR=/tmp/runs; mkdir -p $DIR "$OUT"
names=()
while read -r name args; do
  [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
  names+=("$name")
  timeout -s INT ${KILL_AFTER:-$((BUDGET + 90))} $PY scripts/train_arrays.py $args --time-budget $BUDGET \
    ${BATCH:+--batch-size $BATCH} ${LIMIT:+--limit $LIMIT} --out $DIR/$name > $DIR/$name.log 2>&1 &
done < "$RUNS_FILE"
wait
for name in "${names[@]}"; do
  echo "== $name"; grep -E "^initialised|^Epoch|step|Error" $DIR/$name.log | tail -n 5
  [ -f $DIR/$name/best.keras ] && cp $DIR/$name/best.keras "$OUT/${name}_best.keras"
done
(cd $DIR && tar czf "$OUT/results.tgz" --exclude='*.keras' --exclude=backup .)
ls -la "$OUT"
