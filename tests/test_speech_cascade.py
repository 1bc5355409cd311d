"""The real recognisers (Moonshine base, the default, and tiny) and the speech paths built on them.

espeak-ng speaks known sentences; the recogniser must write them down with few word errors and
the cascade must gloss them as the rules gloss the typed sentence. Bad audio must give a clear
``ValueError`` (the app's ``gr.Error``), never a crash.
"""

from __future__ import annotations

import numpy as np
import pytest

from bgtai.audio import SAMPLE_RATE, resample
from bgtai.data.speech import render_speech
from bgtai.eval import word_error_rate
from bgtai.gloss import english_to_gloss_tokens
from bgtai.gloss.asr import (
    DEFAULT_MODEL,
    EDGE_SILENCE_SECONDS,
    MAX_SPEECH_SECONDS,
    WHOLE_UTTERANCE_SECONDS,
    SpeechRecognizer,
    default_recognizer,
)
from bgtai.gloss.speech import clean_transcript, gloss_speech, gloss_transcript

SENTENCES = ["The children are playing in the garden.",
             "Please enter your password followed by the pound key.",
             "We must give every child a fair chance."]


@pytest.fixture(scope="module")
def recognizer():
    return default_recognizer()


@pytest.fixture(scope="module")
def spoken():
    return {s: render_speech(s, "en-us") for s in SENTENCES}


def test_recogniser_writes_down_spoken_sentences(recognizer, spoken):
    from bgtai.gloss.asr_models import model_folder

    assert recognizer.model == DEFAULT_MODEL and recognizer.model_dir == model_folder(DEFAULT_MODEL)
    heard = [recognizer.transcribe(wave).text for wave in spoken.values()]
    assert word_error_rate(heard, SENTENCES) <= 0.15, heard


def test_the_other_recogniser_writes_them_down_too(spoken):
    tiny = SpeechRecognizer("tiny")
    heard = [tiny.transcribe(wave).text for wave in spoken.values()]
    assert word_error_rate(heard, SENTENCES) <= 0.15, heard


def test_cascade_glosses_what_was_said(recognizer, spoken):
    sentence = SENTENCES[0]
    glossed = gloss_speech(spoken[sentence], recognizer=recognizer)
    assert glossed.path == "cascade" and glossed.result is None
    assert word_error_rate([glossed.transcript.text], [sentence]) <= 0.15
    assert glossed.heard == clean_transcript(glossed.transcript.text)
    assert glossed.tokens == english_to_gloss_tokens(glossed.heard)
    assert {"CHILD", "PLAY", "GARDEN"} <= set(glossed.tokens)


def test_cascade_with_the_model_text_path(recognizer, spoken, tiny_gloss_model):
    from bgtai.gloss.translator import GlossTranslator

    translator = GlossTranslator.from_pretrained(tiny_gloss_model)
    glossed = gloss_speech(spoken[SENTENCES[0]], recognizer=recognizer, text_path="model",
                           translator=translator)
    words = len(glossed.result.sources)  # attention over the transcript's words
    assert glossed.result.tokens == glossed.tokens
    assert glossed.result.attention.shape == (len(glossed.tokens), words)


def test_shared_path_keeps_attention_over_speech_frames(spoken, tiny_gloss_model):
    from bgtai.gloss.translator import GlossTranslator

    translator = GlossTranslator.from_pretrained(tiny_gloss_model)
    wave = spoken[SENTENCES[0]]
    glossed = gloss_speech(wave, path="shared", translator=translator)
    assert glossed.transcript is None and glossed.result.sources[0] == "0.00s"
    assert glossed.result.attention.shape[1] == len(glossed.result.sources)


@pytest.mark.parametrize("rate", [8000, 11025, 44100])
def test_any_sample_rate(recognizer, spoken, rate):
    sentence = SENTENCES[1]
    wave = resample(spoken[sentence], SAMPLE_RATE, rate)
    heard = recognizer.transcribe(wave, rate).text
    assert word_error_rate([heard], [sentence]) <= 0.25, heard


def test_stereo_file_and_gradio_tuple(recognizer, spoken, tmp_path):
    import soundfile as sf

    sentence = SENTENCES[2]
    wave = resample(spoken[sentence], SAMPLE_RATE, 22050)
    sf.write(tmp_path / "stereo.wav", np.stack([wave, 0.5 * wave], 1), 22050)
    pcm = (np.stack([wave, wave], 1) * 32767).astype(np.int16)
    for source in (tmp_path / "stereo.wav", (22050, pcm)):
        heard = recognizer.transcribe(source).text
        assert word_error_rate([heard], [sentence]) <= 0.25, heard


@pytest.mark.parametrize("wave,message", [
    (np.zeros(SAMPLE_RATE, np.float32), "silent"),
    (np.full(SAMPLE_RATE, np.nan, np.float32), "NaN"),
    (np.zeros(0, np.float32), "empty"),
    (np.ones(int(SAMPLE_RATE * (MAX_SPEECH_SECONDS + 1)), np.float32) * 0.1, "too long"),
])
def test_unusable_audio_is_a_clear_error(recognizer, wave, message):
    with pytest.raises(ValueError, match=message):
        gloss_speech(wave, recognizer=recognizer)


def test_corrupt_file_is_a_clear_error(recognizer, sound_files):
    with pytest.raises(ValueError, match="could not decode"):
        gloss_speech(sound_files["corrupt"], recognizer=recognizer)


def test_tones_and_noise_are_not_glossed_as_speech(recognizer):
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (262, 330, 392)) * 0.2
    noise = np.random.default_rng(0).standard_normal(3 * SAMPLE_RATE) * 0.1
    for wave in (chord, noise):
        heard = recognizer.transcribe(wave.astype(np.float32)).text
        # nothing, or at most a one-word hallucination: never a sentence
        assert len(heard.split()) <= 1, heard
        if not heard:
            with pytest.raises(ValueError, match="no English speech was recognised"):
                gloss_speech(wave.astype(np.float32), recognizer=recognizer)


def test_non_english_speech_is_glossed_or_refused_never_a_crash(recognizer):
    # the recogniser knows only English: French comes out as English-looking words (documented)
    wave = render_speech("Bonjour, je voudrais un café chaud, s'il vous plaît.", "fr")
    try:
        glossed = gloss_speech(wave, recognizer=recognizer)
    except ValueError as exc:
        assert str(exc)
    else:
        assert glossed.tokens == english_to_gloss_tokens(glossed.heard)


@pytest.mark.parametrize("written, cleaned", [
    ("Production, cancelled.", "Production cancelled."),  # a pause, not a clause boundary
    ("First stage, missile codes deciphered.", "First stage missile codes deciphered."),
    ("Enemy L. V. detected.", "Enemy LV detected."),
    ("Well... I think so.", "Well I think so."),
    ("Alright boys,", "Alright boys."),
    ("Had he married a more amiable woman, he might have been made still more respectable.",
     "Had he married a more amiable woman, he might have been made still more respectable."),
    ("Eight of spades, four of clubs, seven of hearts.",
     "Eight of spades, four of clubs, seven of hearts."),
    ("Yes, sir. Moving out, now.", "Yes sir. Moving out now."),
    ("", ""),
    ("...", ""),
])
def test_clean_transcript_drops_what_the_recogniser_invents(written, cleaned):
    assert clean_transcript(written) == cleaned


def test_cascade_glosses_the_cleaned_transcript(monkeypatch):
    from types import SimpleNamespace

    from bgtai.gloss.asr import Transcript

    fake = SimpleNamespace(transcribe=lambda audio, sr=None: Transcript("Production, cancelled.",
                                                                        seconds=1.0))
    glossed = gloss_speech(np.zeros(SAMPLE_RATE, np.float32), recognizer=fake)
    assert glossed.transcript.text == "Production, cancelled."  # kept as the recogniser wrote it
    assert glossed.heard == "Production cancelled."
    assert glossed.tokens == english_to_gloss_tokens("Production cancelled.")
    assert "," not in glossed.tokens


def test_slivers_and_symbol_only_utterances_are_dropped(monkeypatch):
    from types import SimpleNamespace

    # times as the runtime gives them: in the audio with EDGE_SILENCE_SECONDS of silence each side
    lines = [SimpleNamespace(start_time=0.0, duration=0.06, text="You"),
             SimpleNamespace(start_time=0.0, duration=0.5, text="?"),
             SimpleNamespace(start_time=0.55, duration=0.7, text=" Five, five. "),
             SimpleNamespace(start_time=1.3, duration=0.6, text="Six.")]
    heard = []
    recognizer = SpeechRecognizer(whole_seconds=0)  # the detector's utterances as they are
    fake = SimpleNamespace(transcribe_without_streaming=lambda samples, sr: heard.append(samples)
                           or SimpleNamespace(lines=lines))
    monkeypatch.setitem(recognizer._runtimes, "detector", fake)
    transcript = recognizer.transcribe(np.full(SAMPLE_RATE, 0.1, np.float32))
    assert transcript.text == "Five, five. Six."
    # segment times are the audio's own: shifted back, and cut at its end
    assert transcript.segments == [(pytest.approx(0.05), pytest.approx(0.75), "Five, five."),
                                   (pytest.approx(0.8), 1.0, "Six.")]
    (samples,) = heard  # the runtime got the audio with half a second of silence either side
    edge = round(EDGE_SILENCE_SECONDS * SAMPLE_RATE)
    assert len(samples) == SAMPLE_RATE + 2 * edge
    assert not any(samples[:edge]) and not any(samples[-edge:])
    assert samples[edge] == pytest.approx(0.1)
    for bad in (-0.1, float("nan"), 6.0):
        with pytest.raises(ValueError, match="edge_silence"):
            SpeechRecognizer(edge_silence=bad)
    for bad in (-1.0, float("nan"), MAX_SPEECH_SECONDS + 1):
        with pytest.raises(ValueError, match="whole_seconds"):
            SpeechRecognizer(whole_seconds=bad)


def test_short_speech_is_transcribed_as_one_utterance_once_speech_is_found(monkeypatch):
    from types import SimpleNamespace

    def runtime(*lines):
        calls = []
        fake = SimpleNamespace(transcribe_without_streaming=lambda samples, sr: calls.append(
            len(samples)) or SimpleNamespace(lines=[SimpleNamespace(start_time=t, duration=d,
                                                                    text=x) for t, d, x in lines]))
        return fake, calls

    recognizer = SpeechRecognizer()
    edge = EDGE_SILENCE_SECONDS
    cut, cut_calls = runtime((edge + 0.2, 0.5, "Ten of"), (edge + 1.0, 0.6, "Clubs."))
    # the gate runs the detector alone: utterance times without words (a sliver is dropped)
    gate, gate_calls = runtime((edge + 0.05, 0.1, ""), (edge + 0.2, 0.5, ""),
                               (edge + 1.0, 0.6, ""))
    whole, whole_calls = runtime((0.0, 3.0 + 2 * edge, "Ten of clubs."))
    assert set(recognizer._runtimes) == {"gate", "whole"}  # the detector's reading on first use
    for role, fake in (("detector", cut), ("gate", gate), ("whole", whole)):
        monkeypatch.setitem(recognizer._runtimes, role, fake)
    wave = np.full(3 * SAMPLE_RATE, 0.1, np.float32)
    transcript = recognizer.transcribe(wave)
    assert transcript.text == "Ten of clubs."  # the whole audio's reading, not the pieces
    assert transcript.segments == [(pytest.approx(0.2), pytest.approx(1.6), "Ten of clubs.")]
    assert gate_calls == whole_calls == [3 * SAMPLE_RATE + 2 * round(edge * SAMPLE_RATE)]
    assert cut_calls == []

    # no speech found by the detector: nothing, whatever the whole audio would be read as
    monkeypatch.setitem(recognizer._runtimes, "gate", runtime()[0])
    whole_calls.clear()
    assert recognizer.transcribe(wave).is_empty and whole_calls == []

    # longer than whole_seconds: the detector's utterances
    recognizer.whole_seconds = 2.0
    assert recognizer.transcribe(wave).text == "Ten of Clubs." and whole_calls == []


def test_the_speech_decision_runs_the_detector_without_the_model(recognizer, spoken):
    wave = next(iter(spoken.values()))
    lines = recognizer._runtime("gate").transcribe_without_streaming(wave.tolist(),
                                                                     SAMPLE_RATE).lines
    assert lines and all(line.text == "" for line in lines)  # found speech, read no words


def test_sentences_with_pauses_up_to_the_limit_are_read_as_one_utterance(recognizer, spoken):
    pause = np.zeros(SAMPLE_RATE // 2, np.float32)
    parts, said = [], []
    for sentence, wave in list(spoken.items()) * 2:
        if sum(len(p) for p in parts) + len(wave) > (WHOLE_UTTERANCE_SECONDS - 1) * SAMPLE_RATE:
            break
        parts += [wave, pause]
        said.append(sentence)
    assert len(said) >= 3
    transcript = recognizer.transcribe(np.concatenate(parts))
    assert len(transcript.segments) == 1  # the sentences and their pauses, read together
    assert word_error_rate([transcript.text], [" ".join(said)]) <= 0.2


@pytest.mark.slow
def test_a_minute_of_speech_is_transcribed_whole(recognizer, spoken):
    pause = np.zeros(SAMPLE_RATE // 2, np.float32)
    parts, said = [], []
    while sum(len(p) for p in parts) < 55 * SAMPLE_RATE:
        for sentence, wave in spoken.items():
            parts += [wave, pause]
            said.append(sentence)
    wave = np.concatenate(parts)[: int(MAX_SPEECH_SECONDS * SAMPLE_RATE)]
    transcript = recognizer.transcribe(wave)
    assert len(transcript.segments) >= 10
    assert transcript.segments[-1][1] > 50  # the last utterance ends near the end
    assert word_error_rate([transcript.text], [" ".join(said)]) <= 0.3


def test_unknown_paths_are_errors(recognizer, spoken):
    with pytest.raises(ValueError, match="path must be one of"):
        gloss_speech(spoken[SENTENCES[0]], path="telepathy", recognizer=recognizer)
    with pytest.raises(ValueError, match="text_path must be one of"):
        gloss_speech(spoken[SENTENCES[0]], text_path="oracle", recognizer=recognizer)
    with pytest.raises(ValueError, match="needs a Langue2Gloss translator"):
        gloss_speech(spoken[SENTENCES[0]], path="shared")
    with pytest.raises(ValueError, match="needs a Langue2Gloss translator"):
        gloss_transcript("hello there", "model")


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory, spoken):
    """Two recordings at other rates than the core's, as a user's folder would hold them."""
    import soundfile as sf

    folder = tmp_path_factory.mktemp("speech_dir")
    rows = []
    for i, (sentence, rate) in enumerate(zip(SENTENCES[:2], (22050, 8000))):
        sf.write(folder / f"utt{i}.wav", resample(spoken[sentence], SAMPLE_RATE, rate), rate)
        rows.append(f"utt{i}\t{sentence}")
    (folder / "transcripts.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("recogniser", [None, "tiny"], ids=["default", "tiny"])
def test_evaluate_speech_dir_adds_the_real_speech_keys(speech_dir, tiny_gloss_model, tmp_path,
                                                       recogniser, monkeypatch):
    import json

    from train import eval_gloss, evaluate

    built = []  # the recognisers the evaluation builds besides the app's default one
    monkeypatch.setattr(eval_gloss, "SpeechRecognizer",
                        lambda model: built.append(model) or SpeechRecognizer(model))

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("I want hot coffee.\tX-I WANT DESC-HOT COFFEE .\n", encoding="utf-8")
    out = tmp_path / "metrics.json"
    metrics = evaluate.main(["gloss", "--model", str(tiny_gloss_model), "--pairs", str(pairs),
                             "--n-test", "4", "--n-world", "300", "--n-speech", "1",
                             "--speech-dir", str(speech_dir), "--json", str(out),
                             *(["--recogniser", recogniser] if recogniser else [])])
    assert built == ([recogniser] if recogniser else [])
    assert json.loads(out.read_text()) == pytest.approx(metrics)
    assert {"rules_bleu4", "model_bleu4", "speech_bleu4"} <= set(metrics)  # existing keys stay
    assert metrics["n_real_speech"] == 2 and metrics["real_speech_unrecognised"] == 0
    assert metrics["real_speech_wer"] <= 0.2
    assert metrics["real_speech_bleu4"] == metrics["real_speech_bleu4_cascade"] > 60
    assert metrics["real_typed_bleu4"] == pytest.approx(100.0)  # the rules, typed
    # a random tiny model cannot gloss: its paths must score far below the cascade
    assert metrics["real_speech_bleu4_shared"] < 20
    assert metrics["real_typed_bleu4_model"] < 20


@pytest.mark.parametrize("table,message", [(None, "no transcripts.tsv"),
                                           ("utt0 no tab\n", "expected NAME<TAB>transcript"),
                                           ("missing\tHello there.\n", "missing.wav is missing")])
def test_evaluate_speech_dir_refuses_bad_folders(tmp_path, table, message):
    from train.eval_gloss import read_speech_dir

    if table is not None:
        (tmp_path / "transcripts.tsv").write_text(table, encoding="utf-8")
    with pytest.raises(SystemExit, match=message):
        read_speech_dir(tmp_path)


def test_default_paths_are_the_ones_the_bundle_measures_best():
    """The app's main gloss is the better path's on real data: the defaults must follow the
    bundled model's measured figures (``assets/gloss/eval.json``) when it is retrained."""
    import json
    from pathlib import Path

    from bgtai.gloss.speech import DEFAULT_SPEECH_PATH, DEFAULT_TEXT_PATH

    measured = json.loads((Path(__file__).resolve().parents[1] / "assets" / "gloss"
                           / "eval.json").read_text())
    text = {"rules": measured["rules_bleu4"], "model": measured["model_bleu4"]}
    speech = {path: measured[f"real_speech_bleu4_{path}"] for path in ("cascade", "shared")}
    assert DEFAULT_TEXT_PATH == max(text, key=text.get)
    assert DEFAULT_SPEECH_PATH == max(speech, key=speech.get)
