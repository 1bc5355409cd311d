"""Descriptions of world events, their glosses, and the Langue2Gloss training corpus.

Descriptions are read back with the vocabulary written out below, independently of the tables in
``bgtai.data.language``: if the generator names a wrong count, level or class, parsing catches it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bgtai.data.corpus import (
    CLAUSE_LINKS,
    joined_sentences,
    split_of,
    training_corpus,
    wordnet_sentences,
    world_descriptions,
)
from bgtai.data.events import CLASSES, Event, sample_event
from bgtai.data.language import (
    class_prompts,
    describe_event,
    describe_event_tagged,
    describe_events,
    describe_events_tagged,
    describe_with_gloss,
)
from bgtai.gloss import english_to_gloss

# --- the template vocabulary, written out for reading descriptions back ---------------------

NOUNS = {
    "whistle": ["whistle"], "hum": ["hum", "humming sound"], "clap": ["clap", "handclap"],
    "snap": ["snap", "finger snap"], "hiss": ["hiss", "hissing sound"],
    "click": ["click", "tongue click"], "bell": ["bell", "bell ring"],
    "siren": ["siren", "siren wail"], "drum": ["drum", "drum hit", "drumbeat"],
    "buzz": ["buzz", "buzzing sound"], "chirp": ["chirp", "bird chirp"],
}
PLURAL = {"hiss": "hisses", "buzz": "buzzes"}
PITCH = {"low": {"low", "low-pitched", "deep"}, "medium": {"mid-pitched", "medium-pitched"},
         "high": {"high", "high-pitched", "shrill"}}
LOUDNESS = {"quiet": {"quiet", "soft", "faint"}, "medium": {"moderate", "medium-volume"},
            "loud": {"loud", "strong", "powerful"}}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# Phrases that join event phrases; a postposed "loud and high" stays inside its event's chunk.
JOINERS = re.compile(r",? ?\b(?:and then|and after that|and at the same time|and finally|and last|"
                     r"followed by|together with|along with|then|next)\b ?")
LEAD_INS = re.compile(r"^(?:you can hear |the sound of |we hear )?(?:first )?")


def _noun_forms():
    forms = {}
    for cls, nouns in NOUNS.items():
        for noun in nouns:
            plural = PLURAL.get(noun, noun + "s")
            forms[noun], forms[plural] = (cls, False), (cls, True)
    return sorted(forms.items(), key=lambda item: -len(item[0]))  # longest match first


NOUN_FORMS = _noun_forms()


def parse_phrase(phrase: str) -> dict:
    """Read class, count, pitch and loudness level back from one event phrase."""
    for noun, (cls, plural) in NOUN_FORMS:
        match = re.search(rf"\b{noun}\b", phrase)
        if match:
            break
    else:
        raise AssertionError(f"no class noun in {phrase!r}")
    words = re.findall(r"[a-z-]+", phrase[:match.start()] + " " + phrase[match.end():])
    count = None
    times = re.search(r"\b(once|twice|(\w+) times)\b", phrase)
    if times:
        count = {"once": 1, "twice": 2}.get(times.group(1)) or NUMBERS[times.group(2)]
        assert not plural, phrase  # "a whistle three times"
    elif words[0] in NUMBERS:
        count = NUMBERS[words[0]]
    elif words[0] in ("a", "an") or words[:2] == ["a", "single"]:
        count = 1
    assert count is not None, phrase
    assert plural == (count > 1 and not times), phrase
    pitch = [level for level, vocab in PITCH.items() if vocab & set(words)]
    loudness = [level for level, vocab in LOUDNESS.items() if vocab & set(words)]
    assert len(pitch) <= 1 and len(loudness) == 1, phrase
    return {"cls": cls, "count": count, "pitch": pitch[0] if pitch else None,
            "loudness": loudness[0]}


def parse_description(text: str) -> list[dict]:
    body = LEAD_INS.sub("", text)
    return [parse_phrase(chunk) for chunk in JOINERS.split(body) if chunk.strip(" ,")]


def truth(event: Event) -> dict:
    return {"cls": event.cls, "count": event.repetitions, "pitch": event.pitch_level,
            "loudness": event.loudness_level}


def random_clip(rng, overlap: bool) -> list[Event]:
    """1-3 events; without ``overlap`` they follow one another with gaps."""
    events, onset = [], 0.0
    for _ in range(int(rng.integers(1, 4))):
        event = sample_event(rng, onset_s=float(rng.uniform(0, 8)) if overlap else onset)
        events.append(event)
        onset = event.offset_s + 0.2
    return events


# --- descriptions ------------------------------------------------------------------------------

def test_single_event_descriptions_name_every_attribute():
    rng = np.random.default_rng(0)
    for _ in range(400):
        event = sample_event(rng)
        [parsed] = parse_description(describe_event(event, rng))
        assert parsed == truth(event)


@pytest.mark.parametrize("overlap", [False, True])
def test_clip_descriptions_name_events_in_onset_order(overlap):
    rng = np.random.default_rng(1 + overlap)
    for _ in range(300):
        events = random_clip(rng, overlap)
        shuffled = [events[i] for i in rng.permutation(len(events))]  # input order must not matter
        text = describe_events(shuffled, rng)
        by_onset = sorted(events, key=lambda e: e.onset_s)
        assert parse_description(text) == [truth(e) for e in by_onset], text


def test_overlap_and_sequence_words():
    bell = Event("bell", 600.0, -20.0, 1, 0.0, 1.0)
    late_clap = Event("clap", None, -20.0, 2, 2.0, 1.0)
    early_clap = Event("clap", None, -20.0, 2, 0.5, 1.0)
    simultaneous = re.compile(r"together with|along with|at the same time")
    for seed in range(30):
        assert not simultaneous.search(describe_events([bell, late_clap], seed))
        assert simultaneous.search(describe_events([bell, early_clap], seed))


def test_specific_wordings():
    rng = np.random.default_rng(8)
    whistles = sample_event(rng, "whistle", pitch_level="high", loudness_level="loud",
                            repetitions=3)
    texts = {describe_event(whistles, seed) for seed in range(200)}
    assert "three loud high whistles" in texts
    assert "a loud high whistle three times" in texts
    assert "three whistles, loud and high" in texts
    hum = sample_event(rng, "hum", pitch_level="low", loudness_level="quiet", repetitions=1,
                       duration_s=1.0)
    bell = sample_event(rng, "bell", pitch_level="medium", loudness_level="medium", repetitions=1,
                        onset_s=1.5)
    pairs = {describe_events([hum, bell], seed) for seed in range(400)}
    assert any(t.startswith("a quiet low hum ") for t in pairs)
    assert any(re.fullmatch(r"[\w -]+ hum then a [\w -]+ bell", t) for t in pairs)


def test_descriptions_are_varied_and_deterministic():
    rng = np.random.default_rng(3)
    clips = [random_clip(rng, overlap=False) for _ in range(300)]
    texts = [describe_events(clip, np.random.default_rng(i)) for i, clip in enumerate(clips)]
    assert len(set(texts)) >= 295
    again = [describe_events(clip, np.random.default_rng(i)) for i, clip in enumerate(clips)]
    assert texts == again
    one = clips[0]
    assert len({describe_events(one, seed) for seed in range(100)}) >= 20


def test_word_record_matches_the_vocabulary():
    rng = np.random.default_rng(4)
    vocab = {"pitch": PITCH, "loudness": LOUDNESS}
    for _ in range(200):
        events = random_clip(rng, overlap=True)
        d = describe_events_tagged(events, rng)
        assert d.text.replace(",", "").split() == list(d.words)
        assert len(d.words) == len(d.tags) == len(d.event_index)
        for word, tag, i in zip(d.words, d.tags, d.event_index):
            if tag in vocab:
                level = events[i].pitch_level if tag == "pitch" else events[i].loudness_level
                assert word in vocab[tag][level]
            elif tag == "class":
                assert any(word in noun.split() or word in PLURAL.get(noun, noun + "s").split()
                           for noun in NOUNS[events[i].cls])
        for i, event in enumerate(events):
            tagged = {t for t, j in zip(d.tags, d.event_index) if j == i}
            assert {"class", "count", "loudness"} <= tagged
            assert ("pitch" in tagged) == (event.pitch_level is not None)


def test_describe_event_tagged_matches_text():
    event = sample_event(np.random.default_rng(5))
    assert describe_event_tagged(event, 7).text == describe_event(event, 7)


def test_bad_input():
    with pytest.raises(ValueError, match="without events"):
        describe_events([], 0)
    with pytest.raises(ValueError, match="sequence"):
        describe_events(sample_event(np.random.default_rng(0)), 0)
    with pytest.raises(ValueError, match="unknown sound class"):
        class_prompts("trumpet")


def test_glosses_follow_the_conventions():
    rng = np.random.default_rng(6)
    for _ in range(50):
        events = random_clip(rng, overlap=False)
        text, gloss = describe_with_gloss(events, rng)
        tokens = gloss.split()
        assert tokens and gloss == gloss.upper()
        assert not {"A", "AN", "THE"} & set(tokens)  # articles dropped
        loud = {"quiet": "QUIET", "loud": "LOUD"}.get(events[0].loudness_level)
        if loud and loud.lower() in text.split():
            assert f"DESC-{loud}" in tokens  # adjectives carry DESC-


def test_class_prompts():
    assert "the sound of a bell" in class_prompts("bell")
    for cls in CLASSES:
        prompts = class_prompts(cls)
        assert len(prompts) == len(set(prompts)) >= 5
        assert all(any(noun in p for noun in NOUNS[cls]) for p in prompts)


# --- corpus ------------------------------------------------------------------------------------

WORDNET = Path("/usr/share/wordnet/data.noun")
needs_wordnet = pytest.mark.skipif(
    not WORDNET.is_file(), reason="wordnet-base is not installed (apt-get install wordnet-base)")


@needs_wordnet
def test_wordnet_sentences_found_and_clean():
    sentences = wordnet_sentences()
    assert len(sentences) > 30_000
    assert "the team is a unit" in sentences  # the example of synset 'whole, unit'
    assert len({s.lower() for s in sentences}) == len(sentences)
    for s in sentences:
        assert len(s.split()) >= 3 and '"' not in s and "`" not in s and s == s.strip()


def _fake_wordnet(folder: Path) -> Path:
    """A WordNet-format folder with a licence header and a few hand-written synsets."""
    header = '  1 This software and database is provided "AS IS" and Princeton\n'
    lines = {
        "noun": [('00001 03 n 01 bell 0 000 | a hollow device; "the bell rang twice"; '
                  '"The bell rang twice"\n'),
                 '00002 03 n 01 term 0 000 | a word; "`tup\' is a British term"; "wild talk"\n'],
        "verb": ['00003 29 v 01 hum 0 000 | sing with closed lips; "she hummed   a tune" \n'],
        "adj": [('00004 00 a 01 loud 0 000 | high volume; "a loud noise (very loud)"; '
                 '"the children were loud"\n')],
        "adv": [],
    }
    for pos, body in lines.items():
        (folder / f"data.{pos}").write_text(header + "".join(body))
    return folder


def test_wordnet_parsing_on_a_fixture(tmp_path):
    sentences = wordnet_sentences(_fake_wordnet(tmp_path))
    assert sentences == ["the bell rang twice", "tup is a British term", "she hummed a tune",
                         "the children were loud"]


def test_wordnet_missing_gives_install_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        wordnet_sentences(tmp_path)


def test_splits_are_deterministic_disjoint_and_sized():
    texts = [f"sentence number {i}" for i in range(20_000)]
    splits = [split_of(t, seed=0) for t in texts]
    assert splits == [split_of(t, seed=0) for t in texts]
    assert split_of("Sentence  NUMBER 5", 0) == splits[5]  # case and spacing do not matter
    for name in ("val", "test"):
        assert abs(splits.count(name) / len(texts) - 0.05) < 0.006  # ~4 binomial sd
    assert sum(a != b for a, b in zip(splits, (split_of(t, seed=1) for t in texts))) > 1000
    with pytest.raises(ValueError, match="fractions"):
        split_of("x", 0, (0.6, 0.5))


def test_training_corpus(tmp_path):
    folder = _fake_wordnet(tmp_path)
    corpus = {s: training_corpus(3, s, n_world=300, wordnet_dir=folder, fractions=(0.2, 0.2))
              for s in ("train", "val", "test")}
    texts = {s: {t for t, _ in pairs} for s, pairs in corpus.items()}
    assert not (texts["train"] & texts["val"] or texts["train"] & texts["test"]
                or texts["val"] & texts["test"])
    everything = set.union(*texts.values())
    assert "the bell rang twice" in everything
    assert set(world_descriptions(300, 3)) <= everything
    assert all(len(v) > 20 for v in texts.values())
    assert all(g and g == g.upper() for pairs in corpus.values() for _, g in pairs)
    assert corpus["val"] == training_corpus(3, "val", n_world=300, wordnet_dir=folder,
                                            fractions=(0.2, 0.2))
    with pytest.raises(ValueError, match="split"):
        training_corpus(0, "dev", n_world=0, wordnet_dir=folder)


def test_joined_sentences_are_long_inputs_made_of_the_splits_own_examples(tmp_path):
    texts = ["the bell rang twice", "she hummed a tune", "the children were loud", "wild talk"]
    joined = joined_sentences(texts, 200, seed=1)
    assert joined == joined_sentences(texts, 200, seed=1) != joined_sentences(texts, 200, seed=2)
    for text in joined:
        assert text.endswith(" .")
        body = text[:-2]
        for link in sorted(CLAUSE_LINKS, key=len, reverse=True):  # " , but " before " , "
            body = body.replace(link, "|")
        parts = body.split("|")
        assert 2 <= len(parts) <= 3 and set(parts) <= set(texts) and len(set(parts)) == len(parts)
    assert joined_sentences(texts, 0, 1) == []
    with pytest.raises(ValueError, match="at least 3"):
        joined_sentences(texts[:2], 5, 0)

    folder = _fake_wordnet(tmp_path)
    plain = training_corpus(0, "train", n_world=5, wordnet_dir=folder, fractions=(0.0, 0.0))
    more = training_corpus(0, "train", n_world=5, wordnet_dir=folder, fractions=(0.0, 0.0),
                           n_joined=10)
    assert more[:len(plain)] == plain and len(more) == len(plain) + 10
    for text, gloss in more[len(plain):]:
        assert gloss == english_to_gloss(text) and gloss.endswith(" .")
        assert not any(w in text for w in world_descriptions(5, 0))  # examples only, no world
