"""Tests of audio loading errors: the message names what is wrong with the file."""

from __future__ import annotations

import numpy as np
import pytest

from bgtai.audio import load_audio


def test_random_bytes_named_mp3_say_the_contents_are_not_audio(tmp_path):
    fake = tmp_path / "song.mp3"
    fake.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"could not decode song\.mp3 as audio \(its contents "
                                         r"are not in a known audio format\)") as error:
        load_audio(fake)
    assert "does not exist" not in str(error.value)  # libsndfile's misleading reason
    with pytest.raises(ValueError, match="could not decode the uploaded data as audio"):
        load_audio(fake.read_bytes())


def test_a_missing_file_is_named_as_missing(tmp_path):
    with pytest.raises(ValueError, match="no audio file at"):
        load_audio(tmp_path / "nothing.mp3")
