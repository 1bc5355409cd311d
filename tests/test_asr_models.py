"""Moonshine models: where they are found, and the float32 copy of Moonshine base.

The folding is checked on a small stand-in graph built here with the same layout as the
package's decoder (int8 weights turned into float32 by ``Cast -> Mul -> Add`` at the top level,
read by the branches of an ``If``): the copy must compute exactly what the original computes.
The real copy is built once in a temporary cache, with its int8 weights folded.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from bgtai.gloss import asr_models
from bgtai.gloss.asr import DEFAULT_MODEL, SpeechRecognizer
from bgtai.gloss.asr_models import (
    GRAPH_FILES,
    MODEL_FILES,
    MODELS,
    TOKENIZER_FILE,
    build_float_copy,
    model_folder,
)


def _stand_in(path, seed: int) -> None:
    """An ORT-format model: y = x @ W (branch "then") or x @ W + 1 (branch "else"), with W
    stored as int8 and dequantised at the top level of the graph."""
    rng = np.random.default_rng(seed)
    q = rng.integers(-127, 128, (4, 3)).astype(np.int8)
    inits = [numpy_helper.from_array(q, "w_q"),
             numpy_helper.from_array(np.float32(0.02), "scale"),
             numpy_helper.from_array(np.full(3, 0.5, np.float32), "zero")]
    top = [helper.make_node("Cast", ["w_q"], ["w_f"], to=TensorProto.FLOAT),
           helper.make_node("Mul", ["w_f", "scale"], ["w_s"]),
           helper.make_node("Add", ["w_s", "zero"], ["w"])]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    then = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "then", [], [out])
    one = numpy_helper.from_array(np.float32(1.0), "one")
    other = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["xw"]),
                               helper.make_node("Add", ["xw", "one"], ["y"])],
                              "else", [], [out], [one])
    top.append(helper.make_node("If", ["flag"], ["y"], then_branch=then, else_branch=other))
    graph = helper.make_graph(top, "stand_in",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
                               helper.make_tensor_value_info("flag", TensorProto.BOOL, [1])],
                              [out], inits)
    # IR version 10: what the pinned ONNX Runtime reads (onnx itself writes a newer one)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.checker.check_model(model)
    plain = path.with_suffix(".onnx")
    onnx.save(model, plain)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep the chain
    options.optimized_model_filepath = str(path)
    options.add_session_config_entry("session.save_model_format", "ORT")
    ort.InferenceSession(str(plain), options, providers=["CPUExecutionProvider"])
    plain.unlink()


def _run(path, x, flag) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x, "flag": np.array([flag])})[0]


@pytest.fixture
def source(tmp_path):
    """A model folder as the package ships it, with stand-in graphs."""
    folder = tmp_path / "source"
    folder.mkdir()
    for seed, name in enumerate(GRAPH_FILES):
        _stand_in(folder / name, seed)
    (folder / TOKENIZER_FILE).write_bytes(b"tokens")
    return folder


def test_the_float_copy_computes_what_the_original_computes(tmp_path, source):
    target = build_float_copy(source, tmp_path / "cache" / "copy")
    assert sorted(p.name for p in target.iterdir()) == sorted([*MODEL_FILES, "built.json"])
    assert (target / TOKENIZER_FILE).read_bytes() == b"tokens"
    built = json.loads((target / "built.json").read_text())
    assert built["folded_chains"] == {name: 1 for name in GRAPH_FILES}
    assert built["onnxruntime"] == ort.__version__
    x = np.random.default_rng(5).normal(size=(1, 4)).astype(np.float32)
    for name in GRAPH_FILES:
        for flag in (True, False):
            # the same weights; only the kernels' summation order may differ (packed weights)
            np.testing.assert_allclose(_run(target / name, x, flag),
                                       _run(source / name, x, flag), rtol=1e-6, atol=1e-7)
    # nothing else is left in the cache folder (the work folder was renamed into place)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["copy"]


def test_a_copy_finished_first_elsewhere_is_kept_and_a_half_made_one_replaced(tmp_path, source):
    target = tmp_path / "copy"
    target.mkdir()
    (target / GRAPH_FILES[0]).write_bytes(b"half made")  # an interrupted build
    stale = tmp_path / ".build-copy-killed"  # the work folder of a build killed long ago
    stale.mkdir()
    os.utime(stale, (0, 0))
    build_float_copy(source, target)
    assert (target / "built.json").is_file() and not stale.exists()
    (target / "marker").write_text("first")  # now complete: another build must keep it
    build_float_copy(source, target)
    assert (target / "marker").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "source"]


def test_a_copy_by_another_recipe_or_runtime_is_built_again(tmp_path, source, monkeypatch):
    monkeypatch.setenv("BGTAI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(asr_models, "package_folder", lambda model: source)
    folder = model_folder("base")
    (folder / "marker").write_text("old")
    assert model_folder("base") == folder and (folder / "marker").exists()  # current: kept
    monkeypatch.setattr(asr_models, "COPY_RECIPE", asr_models.COPY_RECIPE + 1)
    assert model_folder("base") == folder and not (folder / "marker").exists()  # built again
    assert json.loads((folder / "built.json").read_text())["recipe"] == asr_models.COPY_RECIPE


@pytest.mark.slow
def test_moonshine_base_copy_is_built_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BGTAI_CACHE", str(tmp_path))
    folder = model_folder("base")
    assert folder.parent == tmp_path and all((folder / f).is_file() for f in MODEL_FILES)
    # every int8 weight of the package's files: 51 in the encoder, 81 in the decoder
    assert json.loads((folder / "built.json").read_text())["folded_chains"] == {
        GRAPH_FILES[0]: 51, GRAPH_FILES[1]: 81}
    assert model_folder("base") == folder  # built once, then found
    assert "moonshine_cpp" not in sys.modules  # its native library does not run on every CPU


def test_models_and_refusals():
    assert DEFAULT_MODEL in MODELS
    assert model_folder("tiny").is_dir()  # inside moonshine-voice, used as it is
    with pytest.raises(ValueError, match="unknown Moonshine model"):
        model_folder("huge")
    with pytest.raises(ValueError, match="unknown Moonshine model"):
        SpeechRecognizer("huge")


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("BGTAI_CACHE", str(blocked / "cache"))
    with pytest.raises(ValueError, match="set BGTAI_CACHE to a writable folder"):
        model_folder("base")


def test_a_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(asr_models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="pip install moonshine-cpp==0.1.4"):
        model_folder("base")
