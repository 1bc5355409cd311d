# Sourced by the GPU session scripts: makes a bare PyTorch GPU machine (no registry reachable)
# able to run BGTAI from files carried in the working tree:
#   .whl/      wheels that image lacks (soundfile, cffi, pycparser, lemminflect, dtaidistance,
#              tslearn; diffusers for the generator; aisfx for joint models with its audio
#              front-end), fetched here with `pip download` for Python 3.12
#              (docs/benchmarks.md gives the command); all installed without dependencies
#   .wordnet/  WordNet 3.0's index.*, *.exc, cntlist.rev and data.adj from Debian's wordnet-base
#              (the gloss rules need them)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
# numba-cuda there still registers np.row_stack, which its numpy 2.5 no longer has
echo 'import numpy; numpy.row_stack = getattr(numpy, "row_stack", numpy.vstack)' \
    >/tmp/site/sitecustomize.py
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 BGTAI_WORDNET_DIR=$PWD/.wordnet
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
