"""Hand–object contact ratio (Cont., CHOIS-style, Sec. 4.1).

CHOIS counts a frame as in contact when a hand joint lies within 5 cm of an object vertex. We measure
from the hand's surface instead: a frame is in contact when a hand vertex lies within the threshold
(config `metrics.contact_threshold`, default 2 cm = the refinement's contact ε of S1) of the object
surface, or inside the object. Cont. is the share of frames in contact.
"""

from __future__ import annotations

import numpy as np

from zerohsi_core.errors import InputError


def contact_frames(hand_signed: np.ndarray, threshold: float) -> np.ndarray:
    """Per frame, whether a hand vertex is within `threshold` (m) of the object. [T, H] -> bool [T]"""
    signed = np.asarray(hand_signed, dtype=np.float64)
    if signed.ndim != 2 or signed.size == 0:
        raise InputError(f"hand signed distances must be [T, H] with T, H > 0, got shape {signed.shape}")
    if threshold < 0:
        raise InputError(f"the contact threshold must be >= 0 m, got {threshold} (metrics.contact_threshold)")
    return (signed <= threshold).any(axis=1)


def contact_ratio(hand_signed: np.ndarray, threshold: float) -> float:
    """Cont.: share of frames with hand–object contact. hand_signed [T, H] metres, negative inside."""
    return float(contact_frames(hand_signed, threshold).mean())
