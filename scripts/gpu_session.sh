#!/usr/bin/env bash
# One prepared session on a lent GPU machine (PyTorch there, nothing downloadable): installs the
# wheels carried in .whl/ (what that image lacks: diffusers, soundfile, lemminflect, ...), trains
# candidate sound-to-image decoders side by side for MINUTES each, runs the CUDA DTW test and
# (BENCH=1, the default) times the CUDA paths (benchmarks/gpu.py). Results land in $OUT (default
# runs/gpu): one <name>.tar per decoder (float16 weights, config, metrics, log), dtw.txt, gpu.json.
#
#   bash scripts/gpu_session.sh [MINUTES] [scratch|continue]
#
# scratch: three architectures from random weights (A, B, C; C became the bundled decoder).
# continue: one run that trains the bundled decoder further at half C's learning rate (on
# 2026-11-27 it ran beside a twin on 80,000 pictures, which did worse: docs/generation.md).
set -u
MINUTES=${1:-5}
MODE=${2:-scratch}
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
source scripts/gpu_env.sh
export OMP_NUM_THREADS=2

decoder() {  # decoder NAME ARGS...: train, then pack the EMA weights as float16
    local name=$1; shift
    local run=runs/gpu_$name
    python3 -m train.train_generator --stage decoder --joint assets/joint --n-train 40000 \
        --batch-size 512 --lr 1e-3 --epochs 10000 --ema-decay 0.999 --max-minutes "$MINUTES" \
        --output-dir "$run" "$@" >"$run.log" 2>&1
    python3 -c "import sys; from bgtai.generate.unet import ImageDecoder as D; \
D.from_pretrained(sys.argv[1]).half().save_pretrained(sys.argv[1])" "$run/model/decoder"
    cp "$run.log" "$run/model/"
    cp "$run/metrics.json" "$run/model/" 2>/dev/null
    tar -cf "$OUT/$name.tar" -C "$run" model
}

mkdir -p runs
if [ "$MODE" = continue ]; then
    decoder D --init-decoder assets/generator/decoder --lr 5e-4 &
else
    decoder A --channels 64 128 160 --prediction-type v_prediction &
    decoder B --channels 64 128 128 --layers-per-block 2 --prediction-type v_prediction &
    decoder C --channels 64 128 160 --prediction-type sample &
fi
# mostly numba compilation on the CPU while the decoders prepare their data
python3 -m pytest -q -p no:cacheprovider tests/test_dtw.py -m cuda >"$OUT/dtw.txt" 2>&1
wait
for f in runs/gpu_*.log; do echo "$f"; tail -c 300 "$f"; echo; done
[ "${BENCH:-1}" = 1 ] && python3 -m benchmarks.gpu --json "$OUT/gpu.json"
