"""The embedded sound-to-image pipeline, with tiny random models (fast) and the trainer's smoke run."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import CLASSES
from bgtai.data.world import WorldDataset
from bgtai.generate.attribute_encoders import (
    AttributeAudioEncoder,
    AttributeAudioEncoderConfig,
    AttributeGlossEncoder,
    AttributeGlossEncoderConfig,
    WorldAttributeEmbedder,
)
from bgtai.generate.attributes import ATTRIBUTE_DIM, attribute_embedding, split_attributes
from bgtai.generate.backend import EmbeddedBackend
from bgtai.generate.counting import CountProbe
from bgtai.generate.mapping import MapperConfig
from bgtai.generate.pipeline import SoundToImage
from bgtai.generate.unet import DecoderConfig, ImageDecoder
from bgtai.readers import WorldClassifier, WorldClassifierConfig, read_image

SR = SAMPLE_RATE
VOCAB = ["THREE", "DESC-LOUD", "DESC-HIGH", "WHISTLE", "BELL"]


def tone(freq=440.0, seconds=0.5, level=0.2):
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    classifier = WorldClassifier(WorldClassifierConfig(widths=[8, 8, 8, 8])).eval()
    mapper = MapperConfig(in_dim=16, hidden=16)
    audio = AttributeAudioEncoder(AttributeAudioEncoderConfig(
        n_mels=32, channels=16, gru_hidden=8, embed_dim=16, mapper=mapper))
    gloss = AttributeGlossEncoder(AttributeGlossEncoderConfig(vocab=VOCAB, embed_dim=16, mapper=mapper))
    decoder = ImageDecoder(DecoderConfig(image_size=32, block_out_channels=[16, 16],
                                         norm_num_groups=8, default_steps=3))
    return classifier, audio, gloss, decoder


@pytest.fixture(scope="module")
def pipe(parts):
    classifier, audio, gloss, decoder = parts
    return SoundToImage(EmbeddedBackend(decoder, WorldAttributeEmbedder(classifier, audio, gloss)))


@pytest.fixture(scope="module")
def world_images():
    ds = WorldDataset("test", 6, kind="image")
    return [ds.event(i, audio=False) for i in range(6)]


def test_attribute_embedding_reads_the_image(parts, world_images):
    classifier = parts[0]
    images = np.stack([im for _, _, im in world_images])
    emb = attribute_embedding(images, classifier)
    assert emb.shape == (6, ATTRIBUTE_DIM)
    n = len(CLASSES)
    torch.testing.assert_close(emb[:, :n].sum(1), torch.ones(6))
    attrs = split_attributes(emb)
    for i, (event, _, image) in enumerate(world_images):
        reading = read_image(image)
        assert int(attrs["count"][i]) == reading.count == event.repetitions
        assert float(attrs["hue_deg"][i]) == pytest.approx(reading.hue_deg, abs=1e-3)
        assert float(attrs["size"][i]) == pytest.approx(reading.size, abs=1e-5)


def test_same_seed_same_image_other_seed_other_image(pipe):
    a = pipe(tone(), SR, seed=3)
    b = pipe(tone(), SR, seed=3)
    c = pipe(tone(), SR, seed=4)
    assert a.image.shape == (32, 32, 3) and a.image.dtype == np.uint8
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_candidates_keep_the_picture_closest_to_the_embedding(pipe, monkeypatch):
    emb = pipe.backend.embed_audio([tone(), tone(880.0, level=0.5)])
    drawn, closest = [], [2, 1]  # the candidate whose embedding the spy makes the asked one

    def spy(images):
        drawn.append(images.copy())
        out = -emb.repeat_interleave(3, 0) + 0.1 * torch.randn(6, emb.shape[1])
        for i, j in enumerate(closest):
            out[3 * i + j] = emb[i]
        return out

    embed_images = pipe.backend.embed_images
    monkeypatch.setattr(pipe.backend, "embed_images", spy)
    best = pipe.generate(emb, seed=5, candidates=3)
    (candidates,) = drawn  # one batch: 2 embeddings x 3 pictures, embedding-major
    assert candidates.shape == (6, 32, 32, 3) and best.shape == (2, 32, 32, 3)
    assert len({c.tobytes() for c in candidates}) == 6  # different noise for every picture
    for i, j in enumerate(closest):
        np.testing.assert_array_equal(best[i], candidates[3 * i + j])
    # one candidate is plain sampling, the first of the k pictures, and skips the re-embedding
    drawn.clear()
    single = pipe.generate(emb, seed=5, candidates=1)
    assert not drawn
    # (up to rounding: the batch size changes the float arithmetic)
    np.testing.assert_allclose(single[0].astype(int), candidates[0].astype(int), atol=2)
    # a slider sweep (same noise) gives every setting the same k different draws
    monkeypatch.undo()
    drawn.clear()
    monkeypatch.setattr(pipe.backend, "embed_images", lambda images: drawn.append(images.copy())
                        or embed_images(images))
    same = pipe.generate(emb[:1].repeat(2, 1), seed=5, candidates=3, same_noise=True)
    np.testing.assert_array_equal(same[0], same[1])
    np.testing.assert_array_equal(drawn[0][:3], drawn[0][3:])
    assert len({c.tobytes() for c in drawn[0][:3]}) == 3


def test_count_probe_fits_reads_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 12))
    counts = np.repeat(np.arange(1, 6), 20)
    emb = torch.from_numpy(centres[counts - 1] + 0.1 * rng.normal(size=(100, 12))).float()
    probe = CountProbe.fit(emb, counts)
    assert probe.config.dim == 12 and probe.config.counts == [1, 2, 3, 4, 5]
    assert probe.predict(3.0 * emb) == counts.tolist()  # reads directions: the length is normalised
    probe.save_pretrained(tmp_path / "probe")
    assert CountProbe.from_pretrained(tmp_path / "probe").predict(emb) == counts.tolist()
    with pytest.raises(ValueError, match="each at least once"):
        CountProbe.fit(emb[:20], counts[:20])
    with pytest.raises(ValueError, match="N counts"):
        CountProbe.fit(emb, counts[:10])
    with pytest.raises(ValueError, match=r"\(B, 12\)"):
        probe.predict(emb[:, :5])


def test_candidates_showing_the_asked_count_come_first(pipe, monkeypatch):
    """Among the candidates, those in which the image reader counts as many objects as asked
    are kept first (then the closest embedding); with none, the closest one."""
    import bgtai.generate.pipeline as pipeline

    emb = pipe.backend.embed_audio([tone(), tone(880.0, level=0.5), tone(660.0)])
    drawn = []

    def spy(images):  # candidate 0 of each embedding is the closest, then 2, then 1
        drawn.append(images.copy())
        out = -emb.repeat_interleave(3, 0)
        out[0::3] = emb
        out[2::3] = emb - 0.5 * emb.norm(dim=1, keepdim=True) / emb.shape[1] ** 0.5
        return out

    # objects the reader counts in the 3 x 3 candidates
    shown = iter([1, 4, 2, 3, 3, 3, 1, 2, 2] * 2)
    monkeypatch.setattr(pipe.backend, "embed_images", spy)
    monkeypatch.setattr(pipeline, "read_count", lambda image: next(shown))
    best = pipe.generate(emb, seed=5, candidates=3, counts=[2, 5, 2])
    candidates = drawn[0]
    np.testing.assert_array_equal(best[0], candidates[2])  # the only one with 2 objects
    np.testing.assert_array_equal(best[1], candidates[3])  # no 5 anywhere: the closest
    np.testing.assert_array_equal(best[2], candidates[8])  # of the two with 2, the closer
    with pytest.raises(ValueError, match="1 counts for 3 embeddings"):
        pipe.generate(emb, seed=5, candidates=3, counts=[2])
    with pytest.raises(ValueError, match="1 counts for 3 embeddings"):
        pipe.generate(emb, seed=5, candidates=1, counts=[2])
    # by default the pipeline's count probe says how many objects each embedding asks for
    asked = []
    monkeypatch.setattr(pipe, "count_probe", SimpleNamespace(
        predict=lambda e: asked.append(e.clone()) or [2, 5, 2]))
    np.testing.assert_array_equal(pipe.generate(emb, seed=5, candidates=3), best)
    torch.testing.assert_close(asked[0], emb)
    # one candidate: nothing to choose from, nothing counted
    monkeypatch.setattr(pipeline, "read_count", lambda image: pytest.fail("counted"))
    pipe.generate(emb, seed=5, candidates=1)


def test_slider_pictures_ask_for_the_unedited_sounds_count(pipe, monkeypatch):
    """Sliders change only what they say: an edited sound's picture asks for as many objects
    as the count probe reads in the sound before the sliders."""
    wave = tone(level=0.1)
    read, asked = [], []
    monkeypatch.setattr(pipe, "count_probe",
                        SimpleNamespace(predict=lambda e: read.append(e) or [4]))
    generate = pipe.generate
    monkeypatch.setattr(pipe, "generate",
                        lambda e, **kw: asked.append(kw["counts"]) or generate(e, **kw))
    pipe(wave, SR, gain_db=12.0, semitones=-3.0, seed=1, candidates=2)
    assert asked == [[4]]
    torch.testing.assert_close(read[0], pipe.backend.embed_audio([wave]))
    out = pipe(wave, SR, seed=1, candidates=2)  # no slider: the drawn embedding is the sound's own
    assert asked[-1] is None and len(read) == 2
    torch.testing.assert_close(read[1], out.embedding[None])
    # mixed with a picture, the picture asks for the mixed embedding's count
    picture = WorldDataset("test", 1, kind="image").event(0, audio=False)[2]
    out = pipe(wave, SR, gain_db=12.0, mix_image=picture, mix_weight=0.5, seed=1, candidates=2)
    assert asked[-1] is None and len(read) == 3
    torch.testing.assert_close(read[2], out.embedding[None])


def test_an_edited_sound_is_embedded_beside_the_recorded_one(pipe, monkeypatch):
    """The backend reads what the sound is from the sound as recorded (JointModel.embed_audio)."""
    wave = tone(level=0.1)
    calls = []
    embed = pipe.backend.embed_audio
    monkeypatch.setattr(pipe.backend, "embed_audio",
                        lambda waves, recorded=None: calls.append((waves, recorded))
                        or embed(waves, recorded))
    out = pipe(wave, SR, semitones=4.0, seed=1, candidates=1)
    (drawn,), (recorded,) = calls[0]
    np.testing.assert_array_equal(recorded, out.original)
    assert not np.array_equal(drawn, recorded)


@pytest.mark.parametrize("bad", [0, 9, 2.5, True, "2"])
def test_bad_candidates(pipe, bad):
    with pytest.raises(ValueError, match="candidates"):
        pipe(tone(), SR, candidates=bad)


def test_sliders_edit_the_sound_and_its_embedding(pipe):
    base = pipe(tone(), SR)
    louder = pipe(tone(), SR, gain_db=6.0)
    higher = pipe(tone(), SR, semitones=5.0)
    np.testing.assert_allclose(louder.wave, base.wave * 10 ** (6 / 20), rtol=1e-5)  # below full scale
    assert not torch.allclose(base.source_embedding, louder.source_embedding)
    assert not torch.allclose(base.source_embedding, higher.source_embedding)
    assert len(higher.wave) == len(base.wave)


def test_extreme_sliders_are_clamped(pipe):
    a = pipe(tone(), SR, gain_db=1e4, semitones=-1e4)
    b = pipe(tone(), SR, gain_db=30.0, semitones=-24.0)
    np.testing.assert_array_equal(a.image, b.image)


def test_mixing_interpolates_towards_the_mix_image(pipe, world_images):
    mix = world_images[0][2]
    target = pipe.backend.embed_images(mix)[0]
    source = pipe(tone(), SR).source_embedding
    half = pipe(tone(), SR, mix_image=mix, mix_weight=0.5)
    full = pipe(tone(), SR, mix_image=mix, mix_weight=1.0)
    torch.testing.assert_close(half.embedding, 0.5 * (source + target))
    torch.testing.assert_close(full.embedding, target)


@pytest.mark.parametrize("kwargs, match", [
    ({"mix_weight": 0.5}, "mix_image"),
    ({"mix_weight": 1.5, "mix_image": np.zeros((32, 32, 3), np.uint8)}, r"\[0, 1\]"),
    ({"mix_weight": float("nan"), "mix_image": np.zeros((32, 32, 3), np.uint8)}, r"\[0, 1\]"),
    ({"steps": 0}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"seed": -1}, "seed"),
    ({"gain_db": float("nan")}, "gain_db"),
    ({"semitones": "up"}, "semitones"),
])
def test_bad_arguments(pipe, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pipe(tone(), SR, **kwargs)


@pytest.mark.parametrize("wave, match", [
    (np.zeros(SR, np.float32), "silent"),
    (np.full(SR, np.nan, np.float32), "NaN"),
    (tone(seconds=0.01), "too short"),
    (tone(seconds=31.0), "too long"),
])
def test_bad_sounds(pipe, wave, match):
    with pytest.raises(ValueError, match=match):
        pipe(wave, SR)


def test_clipped_sound_is_accepted(pipe):
    out = pipe(np.clip(tone(level=3.0), -1.5, 1.5), SR)
    assert np.abs(out.wave).max() <= 1.0


def test_text_and_gloss(pipe):
    out = pipe.text_to_image("three loud high whistles", seed=1)
    assert out.gloss == "THREE DESC-LOUD DESC-HIGH WHISTLE"
    same = pipe.gloss_to_image("THREE DESC-LOUD DESC-HIGH WHISTLE", seed=1)
    np.testing.assert_array_equal(out.image, same.image)
    with pytest.raises(ValueError, match="known"):
        pipe.text_to_image("purple elephants dance")
    with pytest.raises(ValueError, match="no English speech"):  # the recogniser's path
        pipe.speech_to_image(tone(), SR)
    with pytest.raises(ValueError, match="Langue2Gloss"):  # this pipeline has no translator
        pipe.speech_to_image(tone(), SR, path="shared")


def test_save_and_load_round_trip(parts, pipe, tmp_path):
    classifier, audio, gloss, decoder = parts
    decoder.save_pretrained(tmp_path / "decoder")
    audio.save_pretrained(tmp_path / "audio_encoder")
    gloss.save_pretrained(tmp_path / "gloss_encoder")
    classifier.save_pretrained(tmp_path / "classifier")
    (tmp_path / "pipeline.json").write_text(json.dumps({"embedder": "world_attributes",
                                                        "candidates": 0}))
    with pytest.raises(ValueError, match="pipeline.json: candidates"):
        SoundToImage.from_pretrained(tmp_path, classifier=tmp_path / "classifier")
    (tmp_path / "pipeline.json").write_text(json.dumps({"embedder": "world_attributes"}))
    loaded = SoundToImage.from_pretrained(tmp_path, classifier=tmp_path / "classifier",
                                          gloss_translator=None)
    assert loaded.candidates == 1  # a folder without the key: plain sampling
    np.testing.assert_array_equal(loaded(tone(), SR, seed=2).image, pipe(tone(), SR, seed=2).image)
    with pytest.raises(ValueError, match="pipeline.json"):
        SoundToImage.from_pretrained(tmp_path / "nowhere")


def test_trainer_smoke(tmp_path):
    from train.train_generator import main

    common = ["--cpu", "--n-train", "16", "--batch-size", "8", "--max-steps", "2", "--epochs", "1"]
    dec = main(["--stage", "decoder", "--output-dir", str(tmp_path / "d"), "--channels", "16", "32",
                *common])
    assert np.isfinite(dec["train_loss"])
    mapper = main(["--stage", "mapper", "--output-dir", str(tmp_path / "m"), "--n-val", "8", *common])
    assert np.isfinite(mapper["val_audio"]) and np.isfinite(mapper["val_gloss"])
    main(["--assemble", str(tmp_path / "d"), str(tmp_path / "m"), "--output-dir", str(tmp_path / "g")])
    pipe = SoundToImage.from_pretrained(tmp_path / "g")
    assert pipe(tone(), SR, steps=2).image.shape == (64, 64, 3)

    from train.evaluate import main as evaluate

    metrics = evaluate(["generation", "--model", str(tmp_path / "g"), "--n-test", "24",
                        "--n-sweep", "2", "--steps", "1", "--json", str(tmp_path / "m.json")])
    assert json.loads((tmp_path / "m.json").read_text()) == pytest.approx(metrics)
    for key in ("pitch_hue_spearman", "loudness_size_spearman"):
        assert -1.0 <= metrics[key] <= 1.0
    # each rate is a count of the sounds / sweeps it was measured on (here 24 sounds, 2 sweeps)
    assert (metrics["n_test"], metrics["n_gain_sweeps"], metrics["n_semitone_sweeps"]) == (24, 2, 2)
    for key, n in (("count_acc", 24), ("class_acc", 24), ("empty_image_frac", 24),
                   ("gain_monotonic_frac", 2), ("semitone_monotonic_frac", 2)):
        assert metrics[key] * n == pytest.approx(round(metrics[key] * n)), key
    assert metrics["world_fid"] >= 0 and metrics["world_fid_shuffled"] >= 0
    # kept-content sweeps: 2 sounds x 6 settings per slider
    for key in ("sweep_class_kept_frac", "sweep_count_kept_frac"):
        assert metrics[key] * 24 == pytest.approx(round(metrics[key] * 24)), key
        for slider in ("gain", "semitone"):
            part = metrics[f"{slider}_{key}"]
            assert part * 12 == pytest.approx(round(part * 12)), (slider, key)
        assert metrics[key] == pytest.approx(
            (metrics[f"gain_{key}"] + metrics[f"semitone_{key}"]) / 2)


def test_kept_content_sweeps_span_each_slider_and_grade_against_the_unedited_sound():
    from train.eval_generation import kept_fractions, kept_settings

    settings = kept_settings()
    assert settings["gain_db"].tolist() == [-30.0, -20.0, -10.0, 10.0, 20.0, 30.0]
    assert settings["semitones"].tolist() == [-24.0, -16.0, -8.0, 8.0, 16.0, 24.0]
    events = [SimpleNamespace(cls="bell", repetitions=2), SimpleNamespace(cls="hum", repetitions=1)]
    kept = kept_fractions([["bell", "bell", "drum"], ["hum", "buzz", "buzz"]],
                          [[2, 2, 2], [1, 1, 0]], events)
    assert kept == {"class": pytest.approx(3 / 6), "count": pytest.approx(5 / 6)}
    with pytest.raises(ValueError, match="one list"):
        kept_fractions([["bell"]], [[2]], events)


def test_trainer_on_the_joint_space(tmp_path, monkeypatch):
    """The same trainer and pipeline with a (random, tiny) UniBriVL joint model as the space."""
    from bgtai.data.language import describe_with_gloss
    from bgtai.joint import JointConfig, JointModel
    from train.train_generator import JointMappers, MapperPairs, main

    rng = np.random.default_rng(0)
    ds = WorldDataset("train", 40, kind="image")
    vocab = sorted({w for i in range(40)
                    for w in describe_with_gloss([ds.event(i, audio=False)[0]], rng)[1].split()})
    torch.manual_seed(0)
    JointModel(JointConfig(vocab=vocab, dim=16, audio_width=16, audio_layers=1, text_width=16,
                           text_layers=1, image_widths=[8, 8, 8], dsnet_width=16)
               ).save_pretrained(tmp_path / "joint")
    common = ["--cpu", "--n-train", "16", "--batch-size", "8", "--max-steps", "1", "--epochs", "1",
              "--joint", str(tmp_path / "joint")]
    main(["--stage", "decoder", "--output-dir", str(tmp_path / "d"), "--channels", "16", "32", *common])
    metrics = main(["--stage", "mapper", "--output-dir", str(tmp_path / "m"), "--n-val", "8", *common])
    assert np.isfinite(metrics["val_audio"])
    # the stage embeds its sounds once, in padded batches: each as the pipeline would embed it alone
    mappers = JointMappers(JointModel.from_pretrained(tmp_path / "joint"))
    pairs = MapperPairs("val", 5, 0, lambda images: torch.zeros(len(images), 16))
    cached = mappers.embed_pairs(pairs, batch=4)
    for i in (0, 4):
        audio, gloss, _ = cached[i]
        torch.testing.assert_close(audio, mappers.embedder.audio_embeddings([pairs.waves[i]])[0],
                                   atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(gloss, mappers.embedder.gloss_embeddings([pairs.glosses[i]])[0],
                                   atol=1e-5, rtol=1e-4)
    main(["--assemble", str(tmp_path / "d"), str(tmp_path / "m"), "--output-dir", str(tmp_path / "g"),
          "--joint", str(tmp_path / "joint")])
    probe = main(["--count-probe", "--output-dir", str(tmp_path / "g"), "--n-train", "60",
                  "--n-val", "6"])
    saved = json.loads((tmp_path / "g" / "count_probe" / "metrics.json").read_text())
    assert saved == probe and saved["n_train"] == 60
    assert {"val_image_acc", "val_audio_acc"} <= set(saved)
    spec = json.loads((tmp_path / "g" / "pipeline.json").read_text())
    assert spec["count_probe"] == "count_probe"
    assert SoundToImage.from_pretrained(tmp_path / "g").count_probe.config.dim == 16
    steering = main(["--steering", "--output-dir", str(tmp_path / "g"), "--n-train", "80",
                     "--n-val", "40"])
    assert steering["val_gate_open_frac"] == 0  # no gated front-end: every sound is the world's
    assert json.loads((tmp_path / "g" / "pipeline.json").read_text())["steering"] == "steering"
    assert SoundToImage.from_pretrained(tmp_path / "g").backend.embedder.steering.config.dim == 16
    (tmp_path / "g" / "steering" / "model.safetensors").write_bytes(b"stale")  # cannot load
    again = main(["--steering", "--output-dir", str(tmp_path / "g"), "--n-train", "80",
                  "--n-val", "40"])
    assert again == steering  # refitted from the unsteered pipeline, the same sounds
    with pytest.raises(SystemExit):  # one job per call, none silently skipped
        main(["--count-probe", "--steering", "--output-dir", str(tmp_path / "g")])
    # the evaluation asks the probe unless told to re-rank by the embeddings alone
    from train.evaluate import main as evaluate

    read = []
    predict = CountProbe.predict
    monkeypatch.setattr(CountProbe, "predict",
                        lambda self, e: read.append(len(e)) or predict(self, e))
    quick = ["generation", "--model", str(tmp_path / "g"), "--n-test", "4", "--n-sweep", "2",
             "--steps", "1", "--candidates", "2"]
    evaluate([*quick, "--no-count-probe"])
    assert not read
    evaluate(quick)
    assert read
    with pytest.raises(ValueError, match="16-d embeddings"):  # the attribute space is 19-d
        main(["--stage", "decoder", "--cpu", "--n-train", "4", "--max-steps", "1",
              "--init-decoder", str(tmp_path / "d" / "model" / "decoder"),
              "--output-dir", str(tmp_path / "wrong")])
    pipe = SoundToImage.from_pretrained(tmp_path / "g")
    assert pipe.backend.dim == 16
    a = pipe(tone(), SR, steps=2, seed=5)
    np.testing.assert_array_equal(a.image, pipe(tone(), SR, steps=2, seed=5).image)
    b = pipe(tone(), SR, steps=2, seed=5, candidates=3)  # re-ranked by the joint image encoder
    np.testing.assert_array_equal(b.image, pipe(tone(), SR, steps=2, seed=5, candidates=3).image)
    assert pipe.gloss_to_image("THREE DESC-LOUD WHISTLE", steps=2).image.shape == (64, 64, 3)
    shared = pipe.translator  # a loaded translator is shared, not loaded again
    assert SoundToImage.from_pretrained(tmp_path / "g", gloss_translator=shared).translator is shared


def test_decoder_ema_resume_and_half_precision(tmp_path):
    """EMA weights are what is saved, they survive --resume, and --decoder-dtype float16 halves
    the stored decoder that then still samples."""
    from safetensors.torch import load_file

    from train.train_generator import main

    common = ["--cpu", "--stage", "decoder", "--n-train", "16", "--batch-size", "4", "--epochs", "1",
              "--channels", "16", "32", "--layers-per-block", "2", "--prediction-type", "v_prediction"]

    def weights(run, folder="model/decoder"):
        return load_file(run / folder / "model.safetensors")

    main([*common, "--output-dir", str(tmp_path / "plain")])
    main([*common, "--output-dir", str(tmp_path / "ema"), "--ema-decay", "0.99"])
    main([*common, "--output-dir", str(tmp_path / "ema2"), "--ema-decay", "0.99", "--stop-at-step", "2"])
    main([*common, "--output-dir", str(tmp_path / "ema2"), "--ema-decay", "0.99", "--resume"])
    plain, ema, resumed = weights(tmp_path / "plain"), weights(tmp_path / "ema"), weights(tmp_path / "ema2")
    assert any(not torch.equal(plain[k], ema[k]) for k in plain)  # the average, not the last step
    for k in ema:
        torch.testing.assert_close(resumed[k], ema[k])
    config = json.loads((tmp_path / "ema" / "model" / "decoder" / "config.json").read_text())
    assert config["prediction_type"] == "v_prediction" and config["layers_per_block"] == 2

    main(["--stage", "mapper", "--cpu", "--n-train", "8", "--n-val", "4", "--batch-size", "4",
          "--max-steps", "1", "--epochs", "1", "--output-dir", str(tmp_path / "m")])
    main(["--assemble", str(tmp_path / "ema"), str(tmp_path / "m"), "--output-dir", str(tmp_path / "g"),
          "--decoder-dtype", "float16", "--guidance-scale", "2", "--candidates", "3"])
    assert {t.dtype for t in weights(tmp_path / "g", "decoder").values()} == {torch.float16}
    pipe = SoundToImage.from_pretrained(tmp_path / "g")
    assert pipe.backend.decoder.config.prediction_type == "v_prediction"
    assert pipe.backend.decoder.config.guidance_scale == 2.0
    assert pipe.candidates == 3
    assert pipe(tone(), SR, steps=3).image.shape == (64, 64, 3)

    # --init-decoder continues from a stored (float16) decoder: its architecture, not the flags'
    main(["--cpu", "--stage", "decoder", "--n-train", "8", "--batch-size", "4", "--max-steps", "1",
          "--epochs", "1", "--lr", "0", "--init-decoder", str(tmp_path / "g" / "decoder"),
          "--output-dir", str(tmp_path / "more")])
    more, stored = weights(tmp_path / "more"), weights(tmp_path / "g", "decoder")
    assert {t.dtype for t in more.values()} == {torch.float32}
    for k in stored:
        torch.testing.assert_close(more[k], stored[k].float())
    assert json.loads((tmp_path / "more" / "model" / "decoder" / "config.json").read_text()
                      )["layers_per_block"] == 2


def test_step_budget_fits_the_schedule_to_the_clock(monkeypatch):
    """--max-minutes: the total is cut from the measured rate and the cosine ends there."""
    from train import common

    clock = iter([0.0, 2.0, 10.0])  # start, a slow first step, then 4 steps in 8 s: 0.5 steps/s
    # the module's own clock only: patching time.monotonic itself would feed other threads too
    monkeypatch.setattr(common, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    budget = common.StepBudget(total=1000, minutes=1.0, probe=5)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = common.warmup_cosine(opt, budget, warmup=1)
    budget.start(0)
    assert not any(budget.observe(s) for s in range(1, 5))
    assert budget.observe(5) and budget.total == 5 + 25  # 50 s left at 0.5 steps/s
    assert sched.lr_lambdas[0](30) == pytest.approx(0.05)  # the schedule's floor at the new end
    assert common.StepBudget(100).observe(50) is False  # no budget: never cut


def test_trainer_stops_within_its_minutes(tmp_path):
    from train.train_generator import main

    metrics = main(["--cpu", "--stage", "decoder", "--n-train", "16", "--batch-size", "1", "--epochs", "5",
                    "--channels", "16", "32", "--max-minutes", "0.0001", "--output-dir", str(tmp_path)])
    assert metrics["total_steps"] == 50  # cut at the end of the 50-step probe: no time was left
    assert (tmp_path / "model" / "decoder" / "model.safetensors").is_file()
