"""Where the recogniser's Moonshine models come from, and the float32 copy of Moonshine base.

Two English Moonshine models ship with their weights inside official PyPI packages of their
authors (Moonshine AI, MIT licence; docs/gloss.md):

- ``tiny`` (27 M parameters): ``moonshine_voice/assets/tiny-en`` in ``moonshine-voice==0.1.0``,
  run as it is;
- ``base`` (61 M parameters): ``moonshine_cpp/models/base-en`` in ``moonshine-cpp==0.1.4``. Its
  weights are stored as int8 with a scale, and the graph turns them back into float32 with a
  ``Cast -> Mul -> Add`` chain *on every run*: with a decoder run per token, that dequantisation
  was most of the time (about 1 s per real-speech dev recording against 0.1 s for tiny). The
  package's own runtime does not start on this CPU (it needs instructions the machine lacks), so
  ``moonshine-voice``'s runtime reads the files, from a float32 copy built here once:
  :func:`build_float_copy` folds those chains into float32 weights (the same numbers the graph
  computed at run time) and writes ONNX Runtime format files again. Nothing is downloaded or
  retrained; the copy lives in :func:`cache_dir` (``bash scripts/install.sh`` builds it; otherwise
  the first use does, in about a minute).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

MODEL_FILES = ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")
"""The files the runtime reads from a model folder."""

logger = logging.getLogger(__name__)
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class MoonshineModel:
    """A Moonshine model inside an installed package."""

    name: str
    package: str  # the PyPI distribution's import name
    folder: str  # the model folder inside the package
    arch: str  # the name of ``moonshine_voice.ModelArch``
    install: str  # the requirement that brings it
    float_copy: bool  # run from a float32 copy (:func:`build_float_copy`)


MODELS = {
    "tiny": MoonshineModel("tiny", "moonshine_voice", "assets/tiny-en", "TINY",
                           "moonshine-voice==0.1.0", float_copy=False),
    "base": MoonshineModel("base", "moonshine_cpp", "models/base-en", "BASE",
                           "moonshine-cpp==0.1.4", float_copy=True),
}


def cache_dir() -> Path:
    """Where built model copies are kept: ``$BGTAI_CACHE`` or ``~/.cache/bgtai``."""
    return Path(os.environ.get("BGTAI_CACHE") or Path.home() / ".cache" / "bgtai")


def package_folder(model: MoonshineModel) -> Path:
    """The model's folder inside its installed package (found without importing the package:
    ``moonshine_cpp`` loads a native library on import that does not run on every CPU)."""
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"Moonshine {model.name} needs the {model.install.split('==')[0]} "
                         f"package; install it with `pip install {model.install}` "
                         "(bash scripts/install.sh does)")
    folder = Path(spec.submodule_search_locations[0]) / model.folder
    if not all((folder / f).is_file() for f in MODEL_FILES):
        raise ValueError(f"no Moonshine {model.name} model in {folder}; install it with "
                         f"`pip install {model.install}`")
    return folder


def _fold_dequantisation(graph, numpy_helper, helper) -> int:
    """Replace the top-level ``Cast``/``Mul``/``Add`` nodes whose inputs are all weights by their
    float32 results; returns how many nodes were folded. Subgraphs (the decoder's cache
    branches) read the folded weights from the outer scope, as they read the chains' outputs."""
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    kept, folded = [], 0
    for node in graph.node:
        if node.op_type in ("Cast", "Mul", "Add") and all(i in values for i in node.input):
            a = [values[i] for i in node.input]
            if node.op_type == "Cast":
                to = next(att.i for att in node.attribute if att.name == "to")
                values[node.output[0]] = a[0].astype(helper.tensor_dtype_to_np_dtype(to))
            else:
                values[node.output[0]] = a[0] * a[1] if node.op_type == "Mul" else a[0] + a[1]
            folded += 1
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)

    used = set()

    def visit(g, name: str) -> None:
        g.name = g.name or name  # the saved subgraphs have none, which the checker refuses
        for node in g.node:
            used.update(node.input)
            for att in node.attribute:
                if att.g.node:
                    visit(att.g, f"{name}_{att.name}")

    visit(graph, "main")
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in values.items() if k in used)
    return folded


def build_float_copy(source: Path, target: Path) -> Path:
    """Write ``source``'s model with its int8 weights folded into float32 to ``target``.

    Each ``.ort`` file is loaded by ONNX Runtime and saved as an ONNX graph (without
    optimisations, so nothing specific to this CPU is baked in), its dequantisation chains are
    folded (:func:`_fold_dequantisation`), and it is saved in ONNX Runtime format again with
    the portable graph optimisations. Written to a temporary folder and renamed, so an
    interrupted build leaves nothing half-made.

    Returns
    -------
    Path
        ``target``.
    """
    try:
        import onnx
        import onnxruntime as ort
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise ValueError(f"building Moonshine base's float32 copy needs onnx and onnxruntime "
                         f"({exc}); bash scripts/install.sh installs them") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        tmp = Path(tmp)
        work = tmp / "model"
        work.mkdir()
        report = {"source": str(source), "folded": {}}
        for name in MODEL_FILES[:2]:
            plain = tmp / f"{name}.onnx"
            options = ort.SessionOptions()
            options.log_severity_level = 3  # errors only
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            options.optimized_model_filepath = str(plain)
            ort.InferenceSession(str(source / name), options, providers=["CPUExecutionProvider"])
            model = onnx.load(str(plain))
            report["folded"][name] = _fold_dequantisation(model.graph, numpy_helper, helper)
            onnx.save(model, str(plain))
            options = ort.SessionOptions()
            options.log_severity_level = 3  # errors only
            # "extended" fusions run on any CPU; "all" would bake in this CPU's layouts
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            options.optimized_model_filepath = str(work / name)
            options.add_session_config_entry("session.save_model_format", "ORT")
            ort.InferenceSession(str(plain), options, providers=["CPUExecutionProvider"])
        shutil.copy2(source / MODEL_FILES[2], work / MODEL_FILES[2])
        (work / "built.json").write_text(json.dumps(report, indent=1))
        if target.exists():
            if all((target / f).is_file() for f in MODEL_FILES):
                return target  # another process finished first: keep its copy, drop this one
            shutil.rmtree(target)  # what an interrupted build left
        work.rename(target)
    return target


def model_folder(name: str) -> Path:
    """The folder ``moonshine-voice``'s runtime reads model ``name`` (a key of :data:`MODELS`)
    from; Moonshine base's float32 copy is built on first use."""
    if name not in MODELS:
        raise ValueError(f"unknown Moonshine model {name!r}; choose one of {sorted(MODELS)}")
    model = MODELS[name]
    source = package_folder(model)
    if not model.float_copy:
        return source
    target = cache_dir() / f"moonshine-{model.name}-en-float32"

    def complete() -> bool:
        return all((target / f).is_file() for f in MODEL_FILES)

    with _BUILD_LOCK:  # the app's workers may ask at the same time
        if not complete():
            logger.info("building Moonshine %s's float32 copy in %s (once)", name, target)
            try:
                build_float_copy(source, target)
            except OSError as exc:
                if not complete():  # else another process built it at the same time
                    raise ValueError(f"could not build Moonshine {name}'s float32 copy in "
                                     f"{target} ({exc}); set BGTAI_CACHE to a writable "
                                     "folder") from None
    return target


if __name__ == "__main__":  # `python -m bgtai.gloss.asr_models`: build the copies now
    for _name in MODELS:
        print(f"Moonshine {_name}: {model_folder(_name)}")
