"""The real-speech dev set builder's parsing of the packages' own transcripts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "make_speech_devset", Path(__file__).resolve().parents[1] / "scripts" / "make_speech_devset.py")
devset = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(devset)


@pytest.mark.parametrize("comment,transcript", [
    ("Structure Under Attack", "Structure under attack."),
    ("Enemy VTOLs Detected", "Enemy VTOLs detected."),  # acronyms keep their capitals
    ("Return to LZ", "Return to LZ."),
    ("Not possible. Try again", "Not possible. Try again."),  # a new sentence keeps its capital
    ("Warning! System Failure Imminent", "Warning! System failure imminent."),
    ("Cleanse & Destroy", "Cleanse and destroy."),
    ("Group Reporting:", "Group reporting."),
    ("Fire-At-Will", "Fire-At-Will."),  # one word: the first keeps its case
    ("Hold Fire-At-Will", "Hold fire-at-will."),
])
def test_titles_become_sentences(comment, transcript):
    assert devset.normalise(comment) == transcript


def test_only_speech_lines_of_two_words_or_more():
    cfg = """
	audio	"beep1.ogg"		oneshot  30 1800	/*Close Window*/
	audio	"pcv337.ogg"  	oneshot	100 1800  /*Structure Under Attack*/
	audio	"pcv424.ogg" 	oneshot	100 1800  /*Guard*/
	audio	"v-eloc2.ogg"   oneshot	100 1800  /*Enemy located*/
	audio	"rotlsr.ogg"	oneshot 100 1800	/*Rotary Laser*/
	audio	"pcv337.ogg"  	oneshot	100 1800  /*Duplicate Entry*/
	audio	"group.ogg" 	oneshot 100 1800
"""
    assert devset.voice_lines(cfg) == {"pcv337.ogg": "Structure under attack.",
                                       "v-eloc2.ogg": "Enemy located."}


def test_sphinx_transcriptions():
    text = ("<s> he was not an ill disposed young man </s> (austen_64kb-0880)\n"
            "<s> ten of clubs  </s> (001)\n<s> yes </s> (002)\n")
    assert devset.sphinx_lines(text) == {"austen_64kb-0880": "He was not an ill disposed young man.",
                                         "001": "Ten of clubs."}
