#!/usr/bin/env bash
# The checks a GPU machine runs (the library's device tool, or any CUDA box): the CUDA test cases, then the
# training, sampling, couplings and quality benchmarks on CUDA. Figures go to the ":cuda" sections of
# docs/performance.md, which the script copies to $OUT. On the device tool's machine the project's packages
# are not installed: the source tree is put on PYTHONPATH, and the peer (rbms 0.5.0) comes as a wheel in .whl/.
#   bash benchmarks/cuda_checks.sh        (OUT, NEURORBM_REAL_DATA may be set; default ./cuda-out, ../shared)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-cuda-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/peer-site .whl/*.whl
  export PYTHONPATH=/tmp/peer-site
fi
export PYTHONPATH="$PWD/src:$PWD/tests:${PYTHONPATH:-}"
export NEURORBM_PEER_PYTHON=${NEURORBM_PEER_PYTHON:-$(command -v python3)}
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/test_rbm_training.py tests/test_rbm_gradient.py \
  tests/test_couplings.py -k cuda 2>&1 | tee "$OUT/tests.log"
python3 benchmarks/bench_pcd.py --device cuda --rounds 3 --updates 20 --threads 4 2>&1 | tee "$OUT/pcd.log"
python3 benchmarks/bench_sampling.py --device cuda --rounds 2 --threads 4 2>&1 | tee "$OUT/sampling.log"
python3 benchmarks/bench_couplings.py --device cuda --repeats 2 2>&1 | tee "$OUT/couplings.log"
python3 benchmarks/bench_quality.py --device cuda --data forssmann --minutes "${QUALITY_MINUTES:-0.25,0.5}" \
  --ais-chains 1000 2>&1 | tee "$OUT/quality.log"
cp docs/performance.md "$OUT/"
