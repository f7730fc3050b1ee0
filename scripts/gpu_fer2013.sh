#!/usr/bin/env bash
# One device call (JAX GPU machine, no TensorFlow): train on FER2013 from .gpu/*.npz, side by side,
# the runs named in RUNS (default: the paper's `improved`, the same with identity-initialised
# shortcuts + zero-initialised last norms, and the `mobilenetv3_large` baseline), all under the
# `strong` recipe. Results go to $OUT: each run's best.keras (first two runs) and results.tgz.
# Local check (CPU): PY=python SIZE=48 LIMIT=256 BUDGET=60 BATCH=32 OUT=/tmp/gpu_check bash scripts/gpu_fer2013.sh
# Preparation (here, once; both folders in .git/info/exclude, named in the device call's carry):
#   .venv/bin/python -c 'from keras_fer.data import load_dataset; s = load_dataset("fer2013",
#     "../shared/datasets/fer2013"); [s[n].save_npz(f".gpu/fer2013_{n}.npz", compression="lzma")
#     for n in ("train", "test")]'                                    # 56 MiB together
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
#     --platform manylinux_2_17_x86_64 -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0
# Another data set: TAG=ferplus TRAIN=.gpu/ferplus_train.npz VAL=.gpu/ferplus_valid.npz (caches made
# as above from load_dataset("ferplus", "../shared/datasets/ferplus"), splits "train" / "valid");
# two data sets in one call: run the script twice in the background with different TAGs, then wait.
# Each process plans its epochs from its second epoch: the first includes XLA compilation and
# autotuning (2-3.5 min for the GroupNorm variants with three processes compiling at once).
set -u
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site || exit 1
fi
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_MEM_FRACTION=0.3 PYTHONUNBUFFERED=1
nvidia-smi -L 2>/dev/null
PY=${PY:-python3}
RUNS=${RUNS:-"improved improved_init baseline"}
TAG=${TAG:-fer2013}
DIR=/tmp/runs/$TAG; mkdir -p $DIR "$OUT"
common="--train ${TRAIN:-.gpu/fer2013_train.npz} --val ${VAL:-.gpu/fer2013_test.npz} --input-size ${SIZE:-96} --recipe strong
        --batch-size ${BATCH:-256} --learning-rate ${LR:-3e-3} --time-budget ${BUDGET:-400} ${LIMIT:+--limit $LIMIT}"
for run in $RUNS; do
  case $run in
    improved) args="--model improved" ;;
    improved_init) args="--model improved --builder {\"shortcut_init\":\"dirac\",\"zero_init_last_norm\":true}" ;;
    baseline) args="--model mobilenetv3_large" ;;
    *) args="--model $run" ;;
  esac
  $PY scripts/train_arrays.py $common $args --out $DIR/$run > $DIR/$run.log 2>&1 &
done
wait
n=0
for run in $RUNS; do
  echo "== $run"; grep -E "^Epoch|step" $DIR/$run.log | tail -n 4
  n=$((n + 1)); [ $n -le 2 ] && cp $DIR/$run/best.keras "$OUT/${TAG}_${run}_best.keras"
done
(cd $DIR && tar czf "$OUT/${TAG}_results.tgz" --exclude='*.keras' --exclude=backup --exclude=splits.json .)
ls -la "$OUT"
