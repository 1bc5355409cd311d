"""The demo app over HTTP with gradio_client: every endpoint, bad inputs included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_align_sounds_returns_plots_and_summary(client, sound_files):
    spec_a, spec_b, matrix, summary = client.predict(
        handle_file(sound_files["slow"]), handle_file(sound_files["fast"]), "cosine distance", 0,
        api_name="/align_sounds")
    assert spec_a and spec_b and matrix
    # 1.5 s and 1.0 s at a 20 ms hop (centred frames): 76 and 51 frames
    assert "| sound A frames length | 76 |" in summary
    assert "| sound B frames length | 51 |" in summary


def test_align_sounds_any_rate_and_channels(client, sound_files):
    *_, summary = client.predict(handle_file(sound_files["stereo44k"]),
                                 handle_file(sound_files["fast"]), "squared Euclidean", 10,
                                 api_name="/align_sounds")
    assert "| sound A frames length | 61 |" in summary


@pytest.mark.parametrize("bad,message", [("silent", "silent"), ("corrupt", "could not decode"),
                                         ("text", "could not decode")])
def test_bad_sounds_give_clear_errors_and_app_keeps_serving(client, sound_files, bad, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(sound_files[bad]), handle_file(sound_files["fast"]),
                       "cosine distance", 0, api_name="/align_sounds")
    *_, summary = client.predict(handle_file(sound_files["slow"]),
                                 handle_file(sound_files["fast"]), "cosine distance", 0,
                                 api_name="/align_sounds")
    assert "DTW cost" in summary


def test_missing_sound_is_an_error(client, sound_files):
    with pytest.raises(AppError, match="Give two sounds"):
        client.predict(None, handle_file(sound_files["fast"]), "cosine distance", 0,
                       api_name="/align_sounds")


def test_align_texts_defaults_to_gloss(client):
    tokens, text_b, matrix, summary = client.predict(
        "The children are playing in the garden.", "", 0, api_name="/align_texts")
    assert text_b and text_b == text_b.upper()  # the gloss of A filled in
    assert "CHILD" in text_b
    assert "**A:**" in tokens and matrix
    # DS-Net's reading of the gloss is scored against the DTW path
    ce = float(summary.split("CE (eq. 5) | ")[1].split(" |")[0])
    sp = float(summary.split("SP-Loss (eq. 6) | ")[1].split(" |")[0])
    assert ce > 0 and 0 <= sp <= 1


HOSTILE_TEXTS = [("", "empty"), ("   ", "empty"), ("?!...", "only punctuation"),
                 ("\u0000\u0007", "empty"), ("word " * 600, "too long"),
                 ("日本語のテキスト", "no Latin letters")]


@pytest.mark.parametrize("text,message", HOSTILE_TEXTS)
def test_hostile_text_is_an_error(client, text, message):
    with pytest.raises(AppError, match=message):
        client.predict(text, "something", 0, api_name="/align_texts")
    *_, summary = client.predict("a cat sat", "a cat sits", 0, api_name="/align_texts")
    assert "DTW cost" in summary


def test_bundled_example_pair(client):
    from app.tab_alignment import _sound_examples

    examples = _sound_examples()
    assert examples, "assets/examples/ should hold align_*_a.wav / align_*_b.wav pairs"
    a, b = examples[0]
    *_, summary = client.predict(handle_file(a), handle_file(b), "cosine distance", 0,
                                 api_name="/align_sounds")
    assert "DTW cost" in summary


def _tokens(highlighted) -> list[str]:
    return [t["token"] for t in highlighted if t["token"].strip()]


def test_gloss_text_returns_tokens_with_confidence(client):
    from app.tab_gloss import CONFIDENCE, MADE_BY
    from bgtai.gloss.speech import DEFAULT_TEXT_PATH

    main, highlighted, figure, info, note = client.predict("The children are playing.", 2,
                                                           api_name="/gloss_text")
    assert info == MADE_BY["text"]  # the main gloss is the better path's, the other beside it
    if DEFAULT_TEXT_PATH == "rules":
        assert main == "CHILD BE PLAY ."
    else:
        assert main == " ".join(_tokens(highlighted)) and "`CHILD BE PLAY .`" in note
    legend = {label for _, label, _ in CONFIDENCE}
    for item in highlighted:
        if item["token"].strip():
            assert item["class_or_confidence"] in legend
    assert bool(figure) == bool(_tokens(highlighted))
    assert "sentence by sentence" not in note  # one sentence


def test_confidence_bins_are_ordered():
    from app.tab_gloss import CONFIDENCE, confidence_label

    assert confidence_label(1.0) == CONFIDENCE[0][1]
    assert confidence_label(0.0) == CONFIDENCE[-1][1]
    assert [confidence_label(p) for p in (0.95, 0.8, 0.5, 0.1)] == [c[1] for c in CONFIDENCE]


def test_gloss_text_strips_escape_sequences_and_says_so(client):
    main, *_, note = client.predict("\x1b[31mhello world\x1b[0m", 1, api_name="/gloss_text")
    assert "31M" not in main and "HELLO WORLD" in main
    assert "escape sequences" in note
    *_, note = client.predict("hello\nworld", 1, api_name="/gloss_text")
    assert "escape sequences" not in note  # a line break is just a space


def test_long_text_is_glossed_by_sentence(client):
    text = " ".join(["The children are playing in the garden.", "I want a hot coffee."] * 15)
    main, highlighted, figure, _, note = client.predict(text, 1, api_name="/gloss_text")
    assert "sentence by sentence (30 parts)" in note
    assert figure and main.count("GARDEN") == 15


def test_gloss_speech_default_path_shows_what_was_heard(client):
    from bgtai.gloss import english_to_gloss

    # speech_0.wav is espeak-ng saying "three loud high whistles"; the recogniser hears that
    # synthetic voice only roughly ("Three"/"Free loud high missiles"/"muscles")
    main, highlighted, figure, heard, _ = client.predict(
        handle_file("assets/examples/speech_0.wav"), 1, api_name="/gloss_speech")
    assert heard.startswith("**Heard:** `")
    transcript = heard.split("`")[1]
    assert "loud high" in transcript.lower()
    assert main == english_to_gloss(transcript)  # the main gloss is the rules' gloss of it
    assert _tokens(highlighted) and figure  # the model's gloss of the transcript beside it


def test_gloss_speech_shared_encoder_path(client):
    from app.tab_gloss import MADE_BY, SPEECH_PATHS

    shared = next(label for label, path in SPEECH_PATHS.items() if path == "shared")
    main, highlighted, _, heard, _ = client.predict(handle_file("assets/examples/speech_0.wav"),
                                                    1, shared, api_name="/gloss_speech")
    assert heard == MADE_BY["shared"] and main == " ".join(_tokens(highlighted))
    with pytest.raises(Exception, match="Choose a speech path|not in the list of choices"):
        client.predict(handle_file("assets/examples/speech_0.wav"), 1, "telepathy",
                       api_name="/gloss_speech")


@pytest.mark.parametrize("text,message", [("", "empty"), ("?!", "only punctuation"),
                                          ("日本語", "no Latin letters"), ("word " * 600, "too long"),
                                          ("\x1b[31m\x1b[0m", "empty")])
def test_gloss_bad_text_is_an_error_and_app_keeps_serving(client, text, message):
    with pytest.raises(AppError, match=message):
        client.predict(text, 1, api_name="/gloss_text")
    main, *_ = client.predict("I want coffee", 1, api_name="/gloss_text")
    assert "WANT" in main


def test_gloss_bad_speech_is_an_error(client, sound_files):
    for bad in ("silent", "corrupt"):
        with pytest.raises(AppError, match="silent|could not decode"):
            client.predict(handle_file(sound_files[bad]), 1, api_name="/gloss_speech")
    with pytest.raises(AppError, match="Record or upload"):
        client.predict(None, 1, api_name="/gloss_speech")


def test_random_bytes_named_mp3_name_the_real_cause(client, sound_files):
    with pytest.raises(Exception, match="could not decode noise.mp3 as audio .its contents are "
                                        "not in a known audio format"):
        client.predict(handle_file(sound_files["random_mp3"]), 1, api_name="/gloss_speech")


def test_world_clip_inspection(client):
    audio, frames, figure, words, summary = client.predict("test", 3, api_name="/inspect_clip")
    assert audio and frames and figure and words
    assert "DS-Net vs DTW path: CE (eq. 5)" in summary and "true (segment, frame) pairs" in summary
    assert "the captioner hears" in summary


@pytest.mark.parametrize("split,index,match", [("train", 0, "not in the list of choices"),
                                               ("test", 5000, "clip number|maximum")])
def test_world_clip_bad_input(client, split, index, match):
    with pytest.raises(AppError, match=match):
        client.predict(split, index, api_name="/inspect_clip")


def test_sound_to_image_with_sliders_and_mix(client, sound_files):
    image, heard, edited, plots = client.predict(handle_file(sound_files["slow"]), 6, -3, None, 0,
                                                 1, 2, api_name="/sound_to_image")
    assert image and edited and plots
    assert heard.startswith("**Heard:**") and "sure" in heard
    assert "volume slider from" in heard  # how far the sliders move this sound's picture
    assert "Caption" in heard and "`" in heard  # the captioner's gloss of the edited sound
    from PIL import Image

    picture = Image.open(image)
    assert picture.size == (256, 256)  # the 64 px picture, 4x enlarged for the screen
    mixed, *_ = client.predict(handle_file(sound_files["slow"]), 0, 0, handle_file(image), 0.5, 1,
                               2, api_name="/sound_to_image")
    assert Image.open(mixed).size == (256, 256)


def test_same_seed_same_picture(client, sound_files):
    from PIL import Image

    def picture(seed):
        path, *_ = client.predict(handle_file(sound_files["fast"]), 0, 0, None, 0, seed, 2,
                                  api_name="/sound_to_image")
        return np.asarray(Image.open(path))

    np.testing.assert_array_equal(picture(4), picture(4))
    assert not np.array_equal(picture(4), picture(5))


def test_slider_preview_edits_the_sound(client, sound_files):
    import soundfile as sf

    edited, plots = client.predict(handle_file(sound_files["slow"]), 12, 0, api_name="/preview_edit")
    louder, _ = sf.read(edited)
    quiet, _ = sf.read(client.predict(handle_file(sound_files["slow"]), 0, 0,
                                      api_name="/preview_edit")[0])
    assert plots and np.abs(louder).max() > 3 * np.abs(quiet).max()


@pytest.mark.parametrize("bad,message", [("silent", "silent"), ("corrupt", "could not decode"),
                                         (None, "Record or upload a sound")])
def test_sound_to_image_bad_sounds(client, sound_files, bad, message):
    sound = None if bad is None else handle_file(sound_files[bad])
    with pytest.raises(AppError, match=message):
        client.predict(sound, 0, 0, None, 0, 0, 2, api_name="/sound_to_image")
    image, *_ = client.predict(handle_file(sound_files["fast"]), 0, 0, None, 0, 0, 2,
                               api_name="/sound_to_image")
    assert image


def test_mix_without_picture_and_extreme_sliders(client, sound_files):
    with pytest.raises(AppError, match="reference picture"):
        client.predict(handle_file(sound_files["fast"]), 0, 0, None, 0.5, 0, 2,
                       api_name="/sound_to_image")
    with pytest.raises(AppError, match="greater than maximum"):  # the slider's own bounds
        client.predict(handle_file(sound_files["fast"]), 1e6, 0, None, 0, 0, 2,
                       api_name="/sound_to_image")
    image, *_ = client.predict(handle_file(sound_files["fast"]), 30, -24, None, 0, 0, 2,
                               api_name="/sound_to_image")  # the slider's ends
    assert image


def test_text_and_speech_to_image_through_gloss(client):
    image, gloss = client.predict("three loud high whistles", None, 0, 0, 2,
                                  api_name="/text_to_image")
    assert image and "DESC-LOUD" in gloss
    image, gloss = client.predict(handle_file("assets/examples/speech_0.wav"), None, 0, 0, 2,
                                  api_name="/speech_to_image")
    # the recogniser's transcript, glossed by the rules, as the gloss tab's default path does
    assert gloss.startswith("**Heard:** `") and "**Gloss:** `" in gloss, gloss
    from bgtai.gloss import english_to_gloss

    heard = gloss.split("`")[1]
    assert english_to_gloss(heard) in gloss
    # a world that does not know the words gives a note, no picture
    assert (image is not None) != ("No picture" in gloss)
    # the shared path, as the spoken examples choose it: no transcript, the model's gloss
    from app.tab_image import SHARED_CHOICE

    image, gloss = client.predict(handle_file("assets/examples/speech_0.wav"), None, 0, 0, 2,
                                  SHARED_CHOICE, api_name="/speech_to_image")
    assert gloss.startswith("**Gloss:**") and (image is not None) != ("No picture" in gloss)
    with pytest.raises(AppError, match="no Latin letters"):
        client.predict("日本語", None, 0, 0, 2, api_name="/text_to_image")


def test_words_the_world_does_not_know_give_a_note_not_a_picture(client):
    image, gloss = client.predict("The dog is barking", None, 0, 0, 2, api_name="/text_to_image")
    assert image is None
    assert "DOG" in gloss and "No picture" in gloss and "whistle" in gloss


def test_every_sound_to_image_output_is_named_in_the_api(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for endpoint in ("/sound_to_image", "/text_to_image", "/speech_to_image", "/preview_edit"):
        labels = [r["label"] for r in info[endpoint]["returns"]]
        assert all(label and not label.startswith("value_") for label in labels), (endpoint, labels)


def test_about_tab_shows_every_model_card():
    from app.tab_about import model_cards

    names = [name for name, _ in model_cards()]
    assert {"gloss", "world_classifier"} <= set(names)
    assert all(card.strip() for _, card in model_cards())


def test_gpu_handlers_use_spaces_gpu_when_on_spaces(monkeypatch):
    import importlib
    import sys
    import types

    calls = []
    fake = types.ModuleType("spaces")
    fake.GPU = lambda fn: calls.append(fn.__name__) or fn
    monkeypatch.setitem(sys.modules, "spaces", fake)
    import app.gpu

    gpu = importlib.reload(app.gpu).gpu
    handler = gpu(lambda: "drawn")
    assert handler() == "drawn" and calls == ["<lambda>"]
    monkeypatch.delitem(sys.modules, "spaces")
    importlib.reload(app.gpu)


def test_profiles(monkeypatch):
    from app import cli, models

    assert cli.parse_args(["--profile", "pretrained"]).profile == "pretrained"
    monkeypatch.setenv("BGTAI_PROFILE", "bogus")
    with pytest.raises(SystemExit, match="BGTAI_PROFILE"):
        models.profile()
    monkeypatch.setenv("BGTAI_PROFILE", "pretrained")
    monkeypatch.delenv("BGTAI_CLIP_PROJECTOR", raising=False)
    with pytest.raises(ValueError, match="BGTAI_CLIP_PROJECTOR"):
        models._unclip_backend()


def test_pretrained_profile_without_projector_starts_embedded_and_says_why(monkeypatch,
                                                                          tmp_path):
    from app import build_demo, models
    from bgtai.joint.pretrained import ClipAudioConfig, ClipAudioProjector

    monkeypatch.setenv("BGTAI_PROFILE", "pretrained")
    monkeypatch.delenv("BGTAI_CLIP_PROJECTOR", raising=False)
    assert models.profile() == "embedded"
    assert "BGTAI_CLIP_PROJECTOR is not set" in models.profile_notice()
    monkeypatch.setenv("BGTAI_CLIP_PROJECTOR", str(tmp_path / "missing"))
    assert models.profile() == "embedded" and str(tmp_path / "missing") in models.profile_notice()
    demo = build_demo()  # the page says it too
    assert any(str(tmp_path / "missing") in str(getattr(b, "value", ""))
               for b in demo.blocks.values())
    ClipAudioProjector(ClipAudioConfig(dim=8, width=8, layers=1)).save_pretrained(tmp_path / "p")
    monkeypatch.setenv("BGTAI_CLIP_PROJECTOR", str(tmp_path / "p"))
    assert models.profile() == "pretrained" and models.profile_notice() is None
    monkeypatch.setenv("BGTAI_PROFILE", "embedded")
    assert models.profile_notice() is None


def test_serves_no_file_beyond_its_own(app_url):
    import httpx

    for path in ("/etc/passwd", "README.md", "app/models.py", "assets/gloss/config.json"):
        reply = httpx.get(f"{app_url.rstrip('/')}/gradio_api/file={Path(path).resolve()}")
        assert reply.status_code in (403, 404), path


def test_uploads_over_the_limit_are_refused(app_url, tmp_path):
    import httpx

    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (11 * 1024 * 1024))
    with big.open("rb") as f:
        reply = httpx.post(f"{app_url.rstrip('/')}/gradio_api/upload", files={"files": f})
    assert reply.status_code == 413


def test_cached_example_sounds_reset_the_sliders(app_url):
    """The examples' handler (Gradio caches its outputs; it has no public API endpoint)."""
    from app.tab_image import EXAMPLES, example_image

    sound = sorted(EXAMPLES.glob("sound_*.wav"))[0]
    image, heard, (rate, edited), plots, gain, semitones = example_image(str(sound))
    assert image.shape == (256, 256, 3) and rate == 16_000 and edited.dtype == np.int16
    assert heard.startswith("**Heard:**")
    assert plots is not None and (gain, semitones) == (0, 0)


def test_the_recogniser_is_prepared_at_start_and_a_failure_only_reported(monkeypatch, capsys):
    from app import cli
    from bgtai.gloss.asr import DEFAULT_MODEL

    asked = []
    monkeypatch.setattr(cli, "model_folder", asked.append)
    cli.prepare_recogniser()
    assert asked == [DEFAULT_MODEL]

    def unwritable(name):
        raise ValueError("could not build it; set BGTAI_CACHE to a writable folder")

    monkeypatch.setattr(cli, "model_folder", unwritable)
    cli.prepare_recogniser()  # no exception: the app starts, the first speech request explains
    assert "not ready: could not build it" in capsys.readouterr().err


def test_the_heard_line_says_when_the_front_end_is_not_installed():
    from types import SimpleNamespace

    from app.tab_image import heard_markdown

    out = SimpleNamespace(heard=SimpleNamespace(cls="bell", confidence=0.9, known=True, score=0.95),
                          world_range=SimpleNamespace(gain_db=(-6.0, 6.0), semitones=(-2.0, 2.0)))
    assert "tower alone" not in heard_markdown(out, None)
    note = heard_markdown(out, None, "pip install --no-deps aisfx==0.1.2")
    assert "tower alone" in note and "aisfx==0.1.2" in note and "**Heard:** bell" in note
