#!/usr/bin/env bash
# Every number RESULTS.md, BENCHMARKS.md and tflite/README.md quote for a shipped model, measured
# for a candidate before it replaces keras_fer/pretrained_models/DATASET.keras: accuracy on the
# validation split (FER2013 test/, FER+ FER2013Valid; plain, with the confusion matrix, with
# --flip and with --ten-crop), TFLite agreement in the four modes, and the latency / size /
# accuracy benchmark. A log per step in OUT. 6 min 16 s on the 2-core CPU for the shipped model
# (`fer2013`) before --ten-crop was added (about 3 min more), whose published numbers it
# reproduces: 61.13 % / 62.22 % with --flip, agreement 1.000 / 0.998 / 0.988 / 0.916, int8 59.85 %
# on all of test/.
#
#   bash scripts/candidate_report.sh runs/fer2013_cpu96h/best.keras runs/fer2013_cpu96h/report
#   bash scripts/candidate_report.sh runs/ferplus_prob96b/best.keras runs/ferplus_prob96b/report ferplus
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: candidate_report.sh MODEL.keras OUT_FOLDER [fer2013|ferplus]"
model=${1:?$usage}
out=${2:?$usage}
dataset=${3:-fer2013}
case $dataset in
    fer2013) split=test ;;
    ferplus) split=valid ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
data=${KERAS_FER_DATASETS:-../shared/datasets}/$dataset  # the documented default beside the checkout
mkdir -p "$out"
run() {  # name, command...: log the command, its output and its wall time
    local name=$1; shift
    echo "\$ $*" > "$out/$name.log"
    local start=$SECONDS
    "$@" >> "$out/$name.log" 2>&1
    echo "# $((SECONDS - start)) s" >> "$out/$name.log"
    grep -E "^accuracy|agreement |^\| |^# [0-9]+ s" "$out/$name.log"  # the numbers, not the TF noise
}
run evaluate .venv/bin/keras_fer evaluate --model "$model" --dataset "$dataset" --data "$data" \
    --split $split --out "$out/evaluate"
run evaluate_flip .venv/bin/keras_fer evaluate --model "$model" --dataset "$dataset" --data "$data" \
    --split $split --flip --out "$out/evaluate_flip"
run evaluate_ten_crop .venv/bin/keras_fer evaluate --model "$model" --dataset "$dataset" --data "$data" \
    --split $split --ten-crop --out "$out/evaluate_ten_crop"
run tflite_agreement .venv/bin/python benchmarks/tflite_agreement.py "$model" --dataset "$dataset" \
    --split $split
run benchmark .venv/bin/keras_fer benchmark --model "$model" --accuracy --dataset "$dataset" \
    --calibration-data "$data" --out "$out/benchmark" --runs 50
