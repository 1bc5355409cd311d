"""Where the recogniser's Moonshine models come from, and the float32 copy of Moonshine base.

Two English Moonshine models ship with their weights inside official PyPI packages of their
authors (Moonshine AI, MIT licence; docs/gloss.md):

- ``tiny`` (27 M parameters): ``moonshine_voice/assets/tiny-en`` in ``moonshine-voice==0.1.0``,
  run as it is;
- ``base`` (61 M parameters): ``moonshine_cpp/models/base-en`` in ``moonshine-cpp==0.1.4``. Its
  weights are stored as int8 with a scale, and the graph turns them back into float32 with a
  ``Cast -> Mul -> Add`` chain *on every run*: with a decoder run per token, that dequantisation
  was most of the time (about 1 s per real-speech dev recording against 0.1 s for tiny). The
  package's own native library did not start on the development machine's CPU (illegal
  instruction), and ``moonshine-voice``'s runtime reads the files anyway, from a float32 copy
  built here once: :func:`build_float_copy` folds those chains into float32 weights (the same
  numbers the graph computed at run time) and writes ONNX Runtime format files again. Nothing is
  downloaded or retrained; the copy lives in :func:`cache_dir` (``bash scripts/install.sh``
  builds it; otherwise the first use does, in a few seconds: 4.5-6.5 s in three builds here).

The copy is written by the Python ``onnxruntime`` and read by the ONNX Runtime inside
``moonshine-voice`` (1.23.2): the two versions are pinned alike, since an older runtime need not
read a newer one's files. The copy records the writer's version and :data:`COPY_RECIPE`; a copy
made by another is built again.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

GRAPH_FILES = ("encoder_model.ort", "decoder_model_merged.ort")
"""The model's two graphs, in ONNX Runtime format."""
TOKENIZER_FILE = "tokenizer.bin"
MODEL_FILES = (*GRAPH_FILES, TOKENIZER_FILE)
"""The files the runtime reads from a model folder."""

COPY_RECIPE = 1
"""The version of :func:`build_float_copy`'s recipe; raise it when the recipe changes, so that
copies made by the old one are built again."""

STALE_BUILD_SECONDS = 3600
"""Work folders of builds older than this were left by a killed build and are removed."""

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
"""The Moonshine models the recogniser can run, by name (``SpeechRecognizer(model=...)``)."""


def has_model(folder: Path) -> bool:
    """Whether ``folder`` holds every file of :data:`MODEL_FILES`."""
    return all((folder / f).is_file() for f in MODEL_FILES)


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
    if not has_model(folder):
        raise ValueError(f"no Moonshine {model.name} model in {folder}; install it with "
                         f"`pip install {model.install}`")
    return folder


def _fold_dequantisation(graph) -> int:
    """Replace the top-level ``Cast``/``Mul``/``Add`` nodes whose inputs are all weights by their
    float32 results; returns how many weight chains were folded (the ``Cast`` nodes). Subgraphs
    (the decoder's cache branches) read the folded weights from the outer scope, as they read
    the chains' outputs."""
    import onnx
    from onnx import numpy_helper

    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    kept, chains = [], 0
    for node in graph.node:
        if node.op_type in ("Cast", "Mul", "Add") and all(i in values for i in node.input):
            a = [values[i] for i in node.input]
            if node.op_type == "Cast":
                to = next(att.i for att in node.attribute if att.name == "to")
                values[node.output[0]] = a[0].astype(onnx.helper.tensor_dtype_to_np_dtype(to))
                chains += 1
            else:
                values[node.output[0]] = a[0] * a[1] if node.op_type == "Mul" else a[0] + a[1]
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
    return chains


def _recipe() -> dict:
    """What made a copy: :data:`COPY_RECIPE` and the writer's ONNX Runtime version."""
    return {"recipe": COPY_RECIPE, "onnxruntime": importlib.metadata.version("onnxruntime")}


def build_float_copy(source: Path, target: Path) -> Path:
    """Write ``source``'s model with its int8 weights folded into float32 to ``target``.

    Each graph is loaded by ONNX Runtime and saved as an ONNX graph (without optimisations, so
    nothing specific to this CPU is baked in), its dequantisation chains are folded
    (:func:`_fold_dequantisation`), and it is saved in ONNX Runtime format again with the
    portable graph optimisations. The work is done in a hidden folder beside ``target`` and
    renamed into place, so ``target`` is never half-made; work folders that a killed build left
    (older than :data:`STALE_BUILD_SECONDS`) are removed first. A complete ``target`` that
    another process finished meanwhile is kept.

    Returns
    -------
    Path
        ``target``.
    """
    try:
        import onnx
        import onnxruntime as ort
    except ImportError as exc:
        raise ValueError(f"building Moonshine base's float32 copy needs onnx and onnxruntime "
                         f"({exc}); bash scripts/install.sh installs them") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".build-{target.name}-"
    for old in target.parent.glob(prefix + "*"):
        if time.time() - old.stat().st_mtime > STALE_BUILD_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=prefix) as tmp:
        tmp = Path(tmp)
        work = tmp / "model"
        work.mkdir()
        report = {**_recipe(), "source": str(source), "folded_chains": {}}
        for name in GRAPH_FILES:
            plain = tmp / f"{name}.onnx"
            options = ort.SessionOptions()
            options.log_severity_level = 3  # errors only
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            options.optimized_model_filepath = str(plain)
            ort.InferenceSession(str(source / name), options, providers=["CPUExecutionProvider"])
            model = onnx.load(str(plain))
            report["folded_chains"][name] = _fold_dequantisation(model.graph)
            onnx.save(model, str(plain))
            options = ort.SessionOptions()
            options.log_severity_level = 3
            # "extended" fusions run on any CPU; "all" would bake in this CPU's layouts
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            options.optimized_model_filepath = str(work / name)
            options.add_session_config_entry("session.save_model_format", "ORT")
            ort.InferenceSession(str(plain), options, providers=["CPUExecutionProvider"])
        shutil.copy2(source / TOKENIZER_FILE, work / TOKENIZER_FILE)
        (work / "built.json").write_text(json.dumps(report, indent=1))
        if _is_current(target):
            return target  # another process finished first: keep its copy, drop this one
        shutil.rmtree(target, ignore_errors=True)  # a stale or half-made copy
        try:
            work.rename(target)
        except OSError:
            if not _is_current(target):  # else another process renamed its copy first
                raise
    return target


def _is_current(folder: Path) -> bool:
    """Whether ``folder`` holds a complete copy made by today's recipe and writer."""
    try:
        built = json.loads((folder / "built.json").read_text())
    except (OSError, ValueError):
        return False
    return has_model(folder) and all(built.get(k) == v for k, v in _recipe().items())


def model_folder(name: str) -> Path:
    """The folder ``moonshine-voice``'s runtime reads model ``name`` (a key of :data:`MODELS`)
    from; Moonshine base's float32 copy is built on first use, and again when it was made by
    another recipe or ONNX Runtime version."""
    if name not in MODELS:
        raise ValueError(f"unknown Moonshine model {name!r}; choose one of {sorted(MODELS)}")
    model = MODELS[name]
    source = package_folder(model)
    if not model.float_copy:
        return source
    target = cache_dir() / f"moonshine-{model.name}-en-float32"
    with _BUILD_LOCK:  # the app's workers may ask at the same time
        if not _is_current(target):
            logger.warning("building Moonshine %s's float32 copy in %s (once, a few seconds)",
                           name, target)
            try:
                build_float_copy(source, target)
            except OSError as exc:
                raise ValueError(f"could not build Moonshine {name}'s float32 copy in {target} "
                                 f"({exc}); set BGTAI_CACHE to a writable folder with about "
                                 "1 GB free") from None
    return target
