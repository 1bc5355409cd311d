#!/usr/bin/env bash
# One prepared session on a lent GPU machine for DTW and joint training (docs/benchmarks.md,
# docs/joint.md): CUDA tests, the Triton DTW benchmark, the joint step at the default and the
# large batch (fp32, bf16, compiled, CUDA graphs; profiled), then the Fig. 2 / Table 4 ablations
# with 3 seeds in whatever is left of TOTAL_S seconds. Results land in $OUT (default runs/gpu):
# session.log, cuda_tests.txt, dtw_gpu.json, joint_train.json, joint_profile.txt,
# ablation_summary.json, ablation_tables.md, joint_fig2.png (8 files: what a session brings back).
#
#   bash scripts/gpu_benchmarks.sh [TOTAL_S]      # on the GPU machine, from the repo root
set -u
TOTAL_S=${1:-540}
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT" runs/joint_bench
exec > >(tee "$OUT/session.log") 2>&1
source scripts/gpu_env.sh
start=$(date +%s)
stamp() { echo "== $(( $(date +%s) - start )) s: $*"; }

stamp "CUDA tests"
python3 -m pytest -q -p no:cacheprovider tests/test_dtw.py tests/test_joint.py -m cuda \
    >"$OUT/cuda_tests.txt" 2>&1
tail -3 "$OUT/cuda_tests.txt"

stamp "DTW benchmark"
python3 -m benchmarks.dtw_gpu --json "$OUT/dtw_gpu.json" --budget 2

stamp "joint step"
jt() {  # jt NAME ARGS...: one joint_train measurement into runs/joint_bench/NAME.json
    local name=$1; shift
    timeout 240 python3 -m benchmarks.joint_train --json "runs/joint_bench/$name.json" "$@" \
        | tail -n 3
}
jt cpu_default --device cpu --threads 2 --steps 5 --warmup 1
jt cuda_default --steps 20 --warmup 3 --data-rate
jt cuda_large --events 256 --clips 16 --steps 20 --warmup 3 --profile "$OUT/joint_profile.txt"
jt cuda_large_bf16 --events 256 --clips 16 --steps 20 --warmup 3 --bf16
# compiled encoders and DS-Net (static shapes; the first step compiles), then with CUDA graphs;
# each profiled for its kernel launches per step (in joint_train.json)
jt cuda_large_compiled --events 256 --clips 16 --steps 20 --warmup 3 --compile \
    --profile runs/joint_bench/compiled_profile.txt
jt cuda_large_cudagraphs --events 256 --clips 16 --steps 20 --warmup 3 \
    --compile reduce-overhead --profile runs/joint_bench/cudagraphs_profile.txt
jt cuda_default_cudagraphs --steps 20 --warmup 3 --compile reduce-overhead
python3 - "$OUT/joint_train.json" <<'PY'
import json, pathlib, sys
runs = {p.stem: json.loads(p.read_text()) for p in sorted(pathlib.Path("runs/joint_bench").glob("*.json"))}
pathlib.Path(sys.argv[1]).write_text(json.dumps(runs, indent=1))
for k, v in runs.items():
    print(f"{k:28s} {v['seconds_per_step'] * 1e3:8.1f} ms/step {v['events_per_s']:9.0f} events/s"
          f" launches/step {v.get('launches_per_step', '-')} first step {v['first_step_s']:.1f} s")
PY

left=$(( TOTAL_S - ($(date +%s) - start) - 30 ))
stamp "ablation (at most $left s)"
abl="--out runs/ablation --device cuda --seeds 0 1 2 --table4 --epochs 8 --n-clips 1000 --figure $OUT/joint_fig2.png"
# all 30 runs at once: if time runs out, every run has reached about the same epoch
timeout "$left" python3 -m benchmarks.joint_ablation $abl --jobs 30
python3 -m benchmarks.joint_ablation $abl --plot-only >"$OUT/ablation_tables.md"
cp runs/ablation/summary.json "$OUT/ablation_summary.json"
cat "$OUT/ablation_tables.md"
stamp "done"
