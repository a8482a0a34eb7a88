#!/usr/bin/env bash
# Create the peer tracker environments for benchmarks/tracking.py (benchmark-only; the
# peers are never celldyn dependencies). See ../shared/PEERS.md for why separate venvs:
#   benchmarks/.envs/peers   laptrack 0.17.1 + trackpy 0.7
#   benchmarks/.envs/btrack  btrack 0.6.5 (pins pydantic<2; its config is built in code)
#   benchmarks/.envs/cellpose  cellpose 3.1.1.3 (trains from scratch on CPU; for
#                              benchmarks/segmentation.py, peers/run_cellpose.py)
#   benchmarks/.envs/careamics  careamics 0.3.5 (Noise2Void peer of benchmarks/denoising.py,
#                              peers/run_careamics.py; CPU torch kept, no torchvision)
#   benchmarks/.envs/trackastra  trackastra 0.5.6 + its `train` extra (transformer linker
#                              trained from scratch by peers/train_trackastra.py, run by
#                              peers/run_trackastra.py; CPU torch kept, no torchvision)
#   benchmarks/.envs/stardist  stardist 0.9.2 + csbdeep 0.8.2 on tensorflow-cpu 2.15.1 (the
#                              last TF with Keras 2, which csbdeep/stardist build on; ~2 GB;
#                              trained from scratch for benchmarks/segmentation.py,
#                              peers/run_stardist.py)
# Usage: bash benchmarks/setup_peers.sh [ENV ...]   (default: all: peers btrack cellpose careamics trackastra stardist)
#        PEER_PYTHON=/path/to/python3.11 bash benchmarks/setup_peers.sh btrack
# The environments live under benchmarks/.envs/ (gitignored); benchmarks/tracking.py
# runs btrack there through benchmarks/peers/run_btrack.py and skips it, saying so,
# when benchmarks/.envs/btrack is absent. Creating the btrack one takes about a minute
# and 0.5 GB; it downloads nothing at run time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
envs="$here/.envs"
py="${PEER_PYTHON:-$(command -v python3.11 || command -v python3)}"
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(peers btrack cellpose careamics trackastra stardist)
want() { local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
mkdir -p "$envs"
constraints="$envs/constraints.txt"
# Any environment that pulls torch must get the pinned CPU build (PEERS.md).
echo "torch==2.13.0" > "$constraints"

make_env() {  # name, packages...
    local name="$1"; shift
    if [ ! -x "$envs/$name/bin/python" ]; then
        "$py" -m venv "$envs/$name"
    fi
    "$envs/$name/bin/python" -m pip install --quiet --upgrade pip
    "$envs/$name/bin/python" -m pip install --quiet -c "$constraints" "$@"
}

if want peers; then
    make_env peers "laptrack==0.17.1" "trackpy==0.7" numpy pandas
    "$envs/peers/bin/python" -c "import laptrack, trackpy; print('peers ok: laptrack', laptrack.__version__, 'trackpy', trackpy.__version__)"
fi
if want btrack; then
    # btrack 0.7.0's compiled core needs a newer C++ runtime than these machines have;
    # 0.6.5 pins pydantic<2, hence its own environment (../shared/PEERS.md)
    make_env btrack "btrack==0.6.5" "pydantic<2" numpy
    "$envs/btrack/bin/python" -c "import btrack, pydantic; print('btrack ok:', btrack.__version__, 'pydantic', pydantic.VERSION)"
fi
if want cellpose; then
    # torch first (pinned CPU build), then cellpose 3 with the versions it was run with
    make_env cellpose "torch==2.13.0"
    make_env cellpose "cellpose==3.1.1.3" "numpy==2.0.2" "opencv-python-headless==5.0.0.93" \
        "fastremap==1.21.0" "tifffile==2026.3.3" "scipy==1.17.1"
    "$envs/cellpose/bin/python" -c "import importlib.metadata as m, cellpose.models; print('cellpose ok:', m.version('cellpose'))"
fi
if want careamics; then
    # CAREamics (Noise2Void peer of benchmarks/denoising.py, peers/run_careamics.py): the
    # pinned CPU torch first, then careamics 0.3.5 WITHOUT its torchvision requirement (the
    # PyPI torchvision for torch 2.13 is a CUDA build that cannot load against the CPU torch;
    # run_careamics.py puts empty stand-ins for the LVAE-only torchvision imports), then the
    # rest of its requirements with torch kept at the pin.
    make_env careamics "torch==2.13.0"
    "$envs/careamics/bin/python" -m pip install --quiet --no-deps "careamics==0.3.5"
    "$envs/careamics/bin/python" -m pip install --quiet -c "$constraints" \
        "bioimageio-core>=0.9.0,<=0.11.0" "lightning>=2.2,<=2.6.6,!=2.6.2,!=2.6.3" \
        "matplotlib<=3.11.2" "microssim<=0.0.5" "numpy>=1.21,<=2.4.6" "pillow<=13.0.0" \
        "psutil<=7.2.2" "pydantic>=2.11,<=2.14.1" "pyyaml<=6.0.3,!=6.0.0" \
        "scikit-image<=0.26.0" "tifffile<=2026.3.3" "torchmetrics>0.7.0,<1.9.0" \
        "zarr>=3.0.0,<4.0.0"
    "$envs/careamics/bin/python" -c "import importlib.metadata as m, torch; print('careamics env ok:', m.version('careamics'), 'torch', torch.__version__)"
fi
if want trackastra; then
    # Trackastra (benchmarks/tracking.py's learned peer): the pinned CPU torch first, then
    # trackastra 0.5.6 WITHOUT its torchvision requirement (the PyPI torchvision for torch
    # 2.13 is a CUDA build that cannot load against the CPU torch; trackastra's own code
    # never imports it), then the rest of its requirements and of its `train` extra
    # (lightning, tensorboard, configargparse, matplotlib, kornia, gitpython; not wandb,
    # which the training here does not use), torch kept at the pin. Its pretrained
    # weights are downloaded at run time, so none are used: peers/train_trackastra.py
    # trains it on celldyn's tracking training parts.
    make_env trackastra "torch==2.13.0"
    "$envs/trackastra/bin/python" -m pip install --quiet --no-deps "trackastra==0.5.6"
    "$envs/trackastra/bin/python" -m pip install --quiet -c "$constraints" \
        numpy scipy pandas scikit-image pyyaml edt joblib lz4 "imagecodecs>=2023.7.10" \
        chardet dask fastremap numba "geff>=1" tqdm requests psutil platformdirs \
        "motile[gurobi]>=1.0" "ilpy>=0.6" lightning tensorboard configargparse matplotlib \
        "kornia>=0.7.0" gitpython
    "$envs/trackastra/bin/python" -c "import importlib.metadata as m, importlib.util as u, torch, trackastra.model, lightning, kornia; assert u.find_spec('torchvision') is None; print('trackastra env ok:', m.version('trackastra'), 'torch', torch.__version__)"
fi
if want stardist; then
    # StarDist (generalist segmentation peer of benchmarks/segmentation.py, trained from
    # scratch by peers/run_stardist.py: its pretrained models are downloaded at run time, so
    # none are used). TensorFlow CPU 2.15.1 is the last release whose bundled Keras is Keras 2;
    # numpy stays below 2 for it. No torch here.
    make_env stardist "tensorflow-cpu==2.15.1" "numpy==1.26.4" "stardist==0.9.2" "csbdeep==0.8.2" \
        "scikit-image==0.24.0" "scipy==1.13.1" "tifffile==2024.8.30" "numba==0.60.0"
    "$envs/stardist/bin/python" -c "import importlib.metadata as m, tensorflow as tf, stardist.models; print('stardist env ok:', m.version('stardist'), 'csbdeep', m.version('csbdeep'), 'tensorflow', tf.__version__)"
fi
