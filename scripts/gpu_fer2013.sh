#!/usr/bin/env bash
# One device call (JAX GPU machine, no TensorFlow): train on FER2013 from .gpu/*.npz, side by side:
# the paper's `improved`, the same with identity-initialised shortcuts + zero-initialised last norms,
# and the `mobilenetv3_large` baseline, all under the `strong` recipe. Results go to $OUT.
# Local check (CPU): SIZE=48 LIMIT=256 BUDGET=60 OUT=/tmp/gpu_check bash scripts/gpu_fer2013.sh
set -u
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site || exit 1
fi
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_MEM_FRACTION=0.3 PYTHONUNBUFFERED=1
nvidia-smi -L 2>/dev/null
PY=${PY:-python3}
RUNS=/tmp/runs; mkdir -p $RUNS "$OUT"
common="--train .gpu/fer2013_train.npz --val .gpu/fer2013_test.npz --input-size ${SIZE:-96} --recipe strong
        --batch-size ${BATCH:-256} --learning-rate ${LR:-3e-3} --time-budget ${BUDGET:-400} ${LIMIT:+--limit $LIMIT}"
$PY scripts/train_arrays.py $common --model improved --out $RUNS/improved > $RUNS/improved.log 2>&1 &
$PY scripts/train_arrays.py $common --model improved --out $RUNS/improved_init \
    --builder '{"shortcut_init": "dirac", "zero_init_last_norm": true}' > $RUNS/improved_init.log 2>&1 &
$PY scripts/train_arrays.py $common --model mobilenetv3_large --out $RUNS/baseline > $RUNS/baseline.log 2>&1 &
wait
for run in improved improved_init baseline; do
  echo "== $run"; tail -n 3 $RUNS/$run.log
done
cp $RUNS/improved/best.keras "$OUT/improved_best.keras"
cp $RUNS/improved_init/best.keras "$OUT/improved_init_best.keras"
(cd $RUNS && tar czf "$OUT/results.tgz" --exclude='*.keras' --exclude=backup --exclude=splits.json .)
ls -la "$OUT"
