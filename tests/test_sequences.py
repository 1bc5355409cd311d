"""Sequence pairs the Alignment lab aligns: words of two texts, a text and its gloss."""

import numpy as np

from bgtai.align.sequences import align_texts, word_vectors


def test_identical_words_cost_nothing_and_follow_the_diagonal():
    pair = align_texts("a cat sat", "a cat sat")
    assert pair.result.cost < 1e-9
    np.testing.assert_array_equal(pair.result.path, [[0, 0], [1, 1], [2, 2]])


def test_gloss_tokens_stay_whole():
    text = "I want a hot coffee."
    assert align_texts(text, "X-I WANT DESC-HOT COFFEE", gloss_b=True).labels_b == [
        "X-I", "WANT", "DESC-HOT", "COFFEE"]
    # as English, hyphens split words
    assert align_texts(text, "X-I WANT DESC-HOT COFFEE").labels_b == [
        "X", "I", "WANT", "DESC", "HOT", "COFFEE"]


def test_word_vectors_are_unit_norm_and_case_blind():
    v = word_vectors(["Coffee", "coffee", "tea"])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    np.testing.assert_allclose(v[0], v[1])
    assert v[0] @ v[2] < 0.5
