"""Diversity: identical sequences (the same seed) score 0, shifted ones their shift."""

import itertools

import pytest
import torch

from zerohsi_core.errors import InputError
from zerohsi_core.metrics.diversity import diversity, pair_distance


def sequence(seed: int, frames: int = 6) -> torch.Tensor:
    """A random walk of 55 joints [T, 55, 3], fixed by the seed."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(frames, 55, 3, generator=g).cumsum(0) * 0.05


def test_identical_seeds_have_no_diversity() -> None:
    assert diversity([sequence(1), sequence(1), sequence(1)]) == 0.0


def test_shifted_sequences_score_their_mean_pair_distance() -> None:
    base = sequence(3)
    shifted = [base + torch.tensor([dx, 0.0, 0.0]) for dx in (0.0, 0.1, 0.3)]
    assert diversity(shifted) == pytest.approx((0.1 + 0.3 + 0.2) / 3)
    moved_hands = base.clone()
    moved_hands[:, 22:] += 5.0  # only the 22 body joints count
    assert diversity([base, moved_hands]) == 0.0


def test_different_seeds_match_a_brute_force_mean() -> None:
    seqs = [sequence(s) for s in range(4)]
    brute = []
    for a, b in itertools.combinations(seqs, 2):
        brute.append(sum(float((a[t, j] - b[t, j]).norm()) for t in range(6) for j in range(22)) / (6 * 22))
    assert diversity(seqs) == pytest.approx(sum(brute) / len(brute), rel=1e-6)
    assert diversity(seqs) > 0.05


def test_unequal_lengths_use_the_common_frames_and_one_sequence_is_an_error() -> None:
    a, b = sequence(5, 8), sequence(6, 5)
    assert float(pair_distance(a, b)) == pytest.approx(float(pair_distance(a[:5], b)))
    with pytest.raises(InputError, match="at least 2"):
        diversity([a])
