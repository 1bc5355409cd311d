"""Hand-computed checks of bgtai.eval: every expected number below is worked out in the comments."""

import math

import numpy as np
import pytest
import torch

from bgtai.eval import (
    bidirectional_retrieval,
    count_accuracy,
    edit_distance,
    frechet_distance,
    gaussian_frechet_distance,
    gloss_bleu4,
    linear_probe_accuracy,
    monotonic_fraction,
    retrieval_metrics,
    spearman,
    token_error_rate,
    world_fid,
    zero_shot_accuracy,
)


def unit(*v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


# Gallery g0=(1,0), g1=(0,1), g2=(-1,0). Cosine similarities of the queries:
#   q0=(1,0):        [1, 0, -1]          relevant g0 -> rank 1
#   q1~(1,-0.2):     [.98, -.196, -.98]  relevant g1 -> rank 2 (g0 above)
#   q2~(1,0.5):      [.894, .447, -.894] relevant g2 -> rank 3
GALLERY = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
QUERIES = np.stack([unit(1, 0), unit(1, -0.2), unit(1, 0.5)])


def test_retrieval_one_to_one_known_ranks():
    m = retrieval_metrics(QUERIES, GALLERY, ks=(1, 2, 5))
    assert m["r1"] == pytest.approx(1 / 3)
    assert m["r2"] == pytest.approx(2 / 3)
    assert m["r5"] == pytest.approx(1.0)  # k beyond the gallery size finds everything
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_retrieval_is_scale_invariant_and_takes_tensors():
    scaled = QUERIES * np.array([[3.0], [0.5], [7.0]])
    from_tensors = retrieval_metrics(torch.tensor(scaled), torch.tensor(GALLERY))
    assert from_tensors == retrieval_metrics(QUERIES, GALLERY)


def test_bidirectional_reverse_ranks():
    # Reverse direction, gallery items as queries over q0, q1, q2:
    #   g0: [1, .98, .894]       relevant q0 -> rank 1
    #   g1: [0, -.196, .447]     relevant q1 -> rank 3
    #   g2: [-1, -.98, -.894]    relevant q2 -> rank 1
    m = bidirectional_retrieval(QUERIES, GALLERY, ks=(1,), names=("audio", "image"))
    assert set(m) == {"audio_to_image_r1", "audio_to_image_mrr",
                      "image_to_audio_r1", "image_to_audio_mrr"}
    assert m["audio_to_image_r1"] == pytest.approx(1 / 3)
    assert m["image_to_audio_r1"] == pytest.approx(2 / 3)
    assert m["image_to_audio_mrr"] == pytest.approx((1 + 1 / 3 + 1) / 3)


def test_retrieval_many_to_one():
    # clips c0=(1,0), c1=(0,1); captions 0,1 describe c0 and 2,3 describe c1
    clips = np.array([[1.0, 0.0], [0.0, 1.0]])
    caps = np.stack([unit(1, 0.1), unit(0.1, 1), unit(0, 1), unit(1, 0)])
    targets = [0, 0, 1, 1]
    # caption -> clip ranks: 1, 2, 1, 2
    m = retrieval_metrics(caps, clips, ks=(1,), targets=targets)
    assert m == {"r1": pytest.approx(0.5), "mrr": pytest.approx(0.75)}
    # clip -> captions, best relevant caption counts:
    #   c0 sims [.995, .0995, 0, 1]: its best caption (.995) is beaten by caption 3 -> rank 2
    #   c1 sims [.0995, .995, 1, 0]: caption 2 (1.0) is its own -> rank 1
    both = bidirectional_retrieval(caps, clips, ks=(1,), targets=targets, names=("text", "audio"))
    assert both["audio_to_text_r1"] == pytest.approx(0.5)
    assert both["audio_to_text_mrr"] == pytest.approx(0.75)
    # the same ground truth as an explicit relevance matrix gives the same numbers
    rel = np.zeros((4, 2), dtype=bool)
    rel[[0, 1, 2, 3], targets] = True
    assert retrieval_metrics(caps, clips, ks=(1,), targets=rel) == m


def test_retrieval_ties_count_against_the_query():
    # a collapsed model: every similarity equal, so each relevant item is ranked last of 3
    same = np.ones((3, 4))
    m = retrieval_metrics(same, same, ks=(1,))
    assert m["r1"] == 0.0
    assert m["mrr"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("query, gallery, kwargs, match", [
    (np.ones((3, 2)), np.ones((3, 3)), {}, "same embedding size"),
    (np.ones((2, 2)), np.ones((3, 2)), {}, "as many queries"),
    (np.zeros((3, 2)), np.ones((3, 2)), {}, "all-zero rows"),
    (np.full((3, 2), np.nan), np.ones((3, 2)), {}, "NaN"),
    (np.ones((3, 2)), np.ones((2, 2)), {"targets": [0, 1, 2]}, r"\[0, 1\]"),
    (np.ones((3, 2)), np.ones((3, 2)), {"ks": (0,)}, "ks must be positive"),
    (np.ones(3), np.ones((3, 2)), {}, "2-D"),
])
def test_retrieval_rejects_bad_input(query, gallery, kwargs, match):
    with pytest.raises(ValueError, match=match):
        retrieval_metrics(query, gallery, **kwargs)


def test_zero_shot_accuracy():
    classes = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    # nearest classes by angle: (2,.1)->0, (.1,3)->1, (-1,-.2)->2, (.5,.4)->0
    audio = np.array([[2.0, 0.1], [0.1, 3.0], [-1.0, -0.2], [0.5, 0.4]])
    assert zero_shot_accuracy(audio, classes, [0, 1, 2, 1]) == pytest.approx(3 / 4)
    assert zero_shot_accuracy(audio, classes, [0, 1, 2, 0]) == 1.0
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        zero_shot_accuracy(audio, classes, [0, 1, 3, 0])
    with pytest.raises(ValueError, match="same length"):
        zero_shot_accuracy(audio, classes, [0, 1, 2])


def test_linear_probe_separable_data_is_perfect():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-5, 1, (20, 3)), rng.normal(5, 1, (20, 3))])
    y = np.array(["hum"] * 20 + ["bell"] * 20)
    assert linear_probe_accuracy(x, y, k=5, seed=1) == 1.0


def test_linear_probe_without_information_predicts_the_majority():
    # Constant features carry nothing; each training fold holds 12 "a" and 4 "b" (stratified),
    # so the probe predicts "a" everywhere and scores the majority rate 15/20.
    x = np.ones((20, 4))
    y = np.array([0] * 15 + [1] * 5)
    assert linear_probe_accuracy(x, y, k=5) == pytest.approx(0.75)


def test_linear_probe_rejects_too_few_per_class():
    with pytest.raises(ValueError, match="at least 5 per class"):
        linear_probe_accuracy(np.eye(8), [0] * 4 + [1] * 4, k=5)
    with pytest.raises(ValueError, match="at least 2 classes"):
        linear_probe_accuracy(np.eye(8), [0] * 8, k=2)


def test_bleu_hand_computed():
    same = ["X-I WANT DESC-HOT COFFEE ."]
    assert gloss_bleu4(same, same) == pytest.approx(100.0)
    # one wrong token of five: n-gram precisions 4/5, 3/4, 2/3, 1/2, no brevity penalty
    expected = 100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25
    assert gloss_bleu4(["A B C D E"], ["A B C D F"]) == pytest.approx(expected, abs=1e-6)
    assert gloss_bleu4(["P Q R S"], ["A B C D"]) == pytest.approx(0.0, abs=1e-9)


def test_token_error_rate_hand_computed():
    assert token_error_rate(["A B X D"], ["A B C D"]) == pytest.approx(0.25)  # 1 substitution / 4
    assert token_error_rate(["A X B"], ["A B"]) == pytest.approx(0.5)  # 1 insertion / 2
    assert token_error_rate([""], ["A B C"]) == pytest.approx(1.0)  # 3 deletions / 3
    # corpus level: (1 deletion + 1 deletion) / (3 + 2) reference tokens
    assert token_error_rate(["A B", "C"], ["A B C", "C D"]) == pytest.approx(0.4)
    assert edit_distance(list("kitten"), list("sitting")) == 3


@pytest.mark.parametrize("fn", [gloss_bleu4, token_error_rate])
def test_text_metrics_reject_bad_input(fn):
    with pytest.raises(ValueError, match="same length"):
        fn(["A"], ["A", "B"])
    with pytest.raises(ValueError, match="not a single string"):
        fn("A B", "A B")
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match=r"refs\[0\] must be a string"):
        fn(["A"], [None])


def test_spearman_hand_computed():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    # rank differences d = [0, 1, 1, 0]: rho = 1 - 6 * 2 / (4 * (16 - 1)) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [5, 5, 5]) == 0.0  # the image ignored the attribute
    with pytest.raises(ValueError, match="all equal"):
        spearman([2, 2, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        spearman([1], [1])


def test_count_accuracy():
    assert count_accuracy([1, 2, 3, 4], [1, 2, 3, 5]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="whole numbers"):
        count_accuracy([1.5], [1])


def test_monotonic_fraction():
    sweeps = [[1, 2, 3], [1, 1, 2], [3, 2, 1], [1, 3, 2]]
    assert monotonic_fraction(sweeps) == pytest.approx(1 / 4)  # only [1, 2, 3] strictly rises
    assert monotonic_fraction(sweeps, strict=False) == pytest.approx(2 / 4)  # plus [1, 1, 2]
    assert monotonic_fraction(sweeps, direction="decreasing") == pytest.approx(1 / 4)
    assert monotonic_fraction([[1, 2], [0, 5, 9, 10]]) == 1.0  # ragged sweeps
    assert monotonic_fraction(np.array([[1.0, 2.0], [2.0, 1.0]])) == 0.5
    with pytest.raises(ValueError, match="at least 2"):
        monotonic_fraction([[1]])
    with pytest.raises(ValueError, match="direction"):
        monotonic_fraction([[1, 2]], direction="up")


def test_frechet_identical_sets_is_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    # fewer samples than features: singular covariances must still give a finite 0
    few = rng.normal(size=(3, 16))
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-8)


def test_frechet_one_dimensional_closed_form():
    # a = [0, 2]: mean 1, unbiased variance 2; b = [3, 7]: mean 5, variance 8.
    # (1 - 5)^2 + (sqrt(2) - sqrt(8))^2 = 16 + 2 = 18
    assert frechet_distance([[0.0], [2.0]], [[3.0], [7.0]]) == pytest.approx(18.0)


def test_gaussian_frechet_closed_forms():
    # diagonal covariances: sum over dims of (mu diff)^2 + (std diff)^2 = 2 + 1 + 1
    d = gaussian_frechet_distance([0, 0], np.diag([1.0, 4.0]), [1, 1], np.diag([4.0, 9.0]))
    assert d == pytest.approx(4.0)
    # identity vs B = [[2,1],[1,2]] (eigenvalues 3, 1): sum (1 - sqrt(l))^2 = (1 - sqrt 3)^2
    b = np.array([[2.0, 1.0], [1.0, 2.0]])
    d = gaussian_frechet_distance([0, 0], np.eye(2), [0, 0], b)
    assert d == pytest.approx((1 - math.sqrt(3)) ** 2)
    with pytest.raises(ValueError, match="sigma_b must have shape"):
        gaussian_frechet_distance([0, 0], np.eye(2), [0, 0], np.eye(3))


class FirstPixel:
    """A stand-in encoder: the first pixel of each image is its only feature."""

    def features(self, images):
        return images.flatten(1)[:, :1].float()


def test_world_fid_uses_encoder_features():
    a = torch.zeros(2, 3, 4, 4)
    b = torch.zeros(2, 3, 4, 4)
    a[:, 0, 0, 0] = torch.tensor([0.0, 2.0])
    b[:, 0, 0, 0] = torch.tensor([3.0, 7.0])
    assert world_fid(a, b, FirstPixel()) == pytest.approx(18.0)  # the 1-D case above
    assert world_fid(a.numpy(), b.numpy(), FirstPixel(), batch_size=1) == pytest.approx(18.0)


def test_world_fid_runs_module_in_eval_mode_and_restores_it():
    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = torch.nn.Dropout(0.5)

        def features(self, images):
            return self.drop(images.flatten(1))

    enc = Noisy().train()
    x = torch.rand(6, 1, 2, 2) + 1
    # in train mode dropout would make the two passes differ and the distance positive
    assert world_fid(x, x, enc) == pytest.approx(0.0, abs=1e-8)
    assert enc.training


def test_world_fid_rejects_bad_encoder():
    with pytest.raises(ValueError, match="features"):
        world_fid(torch.zeros(2, 4), torch.zeros(2, 4), encoder=object())
