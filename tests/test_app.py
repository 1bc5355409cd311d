"""The demo app over HTTP with gradio_client: every endpoint, bad inputs included."""

from __future__ import annotations

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_align_sounds_returns_plots_and_summary(client, sound_files):
    spec_a, spec_b, tokens, matrix, summary = client.predict(
        handle_file(sound_files["slow"]), handle_file(sound_files["fast"]), "cosine distance", 0,
        api_name="/align_sounds")
    assert spec_a and spec_b and matrix and not tokens
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
    with pytest.raises(Exception, match=message):
        client.predict(handle_file(sound_files[bad]), handle_file(sound_files["fast"]),
                       "cosine distance", 0, api_name="/align_sounds")
    *_, summary = client.predict(handle_file(sound_files["slow"]),
                                 handle_file(sound_files["fast"]), "cosine distance", 0,
                                 api_name="/align_sounds")
    assert "DTW cost" in summary


def test_missing_sound_is_an_error(client, sound_files):
    with pytest.raises(Exception, match="Give two sounds"):
        client.predict(None, handle_file(sound_files["fast"]), "cosine distance", 0,
                       api_name="/align_sounds")


def test_align_texts_defaults_to_gloss(client):
    _, _, tokens, text_b, matrix, summary = client.predict(
        "The children are playing in the garden.", "", 0, api_name="/align_texts")
    assert text_b and text_b == text_b.upper()  # the gloss of A filled in
    assert "CHILD" in text_b
    assert "**A:**" in tokens and matrix


@pytest.mark.parametrize("text", ["", "   ", "?!...", "\u0000\u0007", "word " * 600,
                                  "日本語のテキスト"])
def test_hostile_text_is_an_error(client, text):
    with pytest.raises(Exception):
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
    highlighted, figure, rules = client.predict("The children are playing.", 2,
                                                api_name="/gloss_text")
    assert rules == "**Rules:** `CHILD BE PLAY .`"
    for item in highlighted:
        if item["token"].strip():
            assert 0.0 <= item["class_or_confidence"] <= 1.0
    assert bool(figure) == bool(_tokens(highlighted))


def test_gloss_speech_from_bundled_example(client):
    highlighted, _, rules = client.predict(handle_file("assets/examples/speech_0.wav"), 1,
                                           api_name="/gloss_speech")
    assert rules == ""
    assert isinstance(highlighted, list)


@pytest.mark.parametrize("text", ["", "?!", "日本語", "word " * 600])
def test_gloss_bad_text_is_an_error_and_app_keeps_serving(client, text):
    with pytest.raises(Exception):
        client.predict(text, 1, api_name="/gloss_text")
    *_, rules = client.predict("I want coffee", 1, api_name="/gloss_text")
    assert "WANT" in rules


def test_gloss_bad_speech_is_an_error(client, sound_files):
    for bad in ("silent", "corrupt"):
        with pytest.raises(Exception, match="silent|could not decode"):
            client.predict(handle_file(sound_files[bad]), 1, api_name="/gloss_speech")
    with pytest.raises(Exception, match="Record or upload"):
        client.predict(None, 1, api_name="/gloss_speech")
