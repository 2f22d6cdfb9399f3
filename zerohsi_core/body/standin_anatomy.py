"""Anatomy of the stand-in body: rest joint positions and the tubes and blobs its surface is made of.

Body-model frame as SMPL-X: metres, y up, the body faces +z, its left side is +x, T-pose; the soles
are at y = -1.30 and the pelvis at y = -0.35 (0.95 m above the soles), about 1.73 m tall. Left and
centre parts are listed; right parts are their mirror images (x -> -x, left_ -> right_).
"""

from dataclasses import dataclass

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Marker:
    """A joint at a tube station: `blend` hands skinning over to it there; `regress` puts its J_regressor
    row on that station's ring (the ring's centroid is the station centre, i.e. the joint)."""

    joint: str
    blend: bool = True
    regress: bool = True


@dataclass(frozen=True)
class Station:
    """A cross-section of a tube: an ellipse with semi-axes a (along the part's reference axis) and b."""

    center: Vec3
    a: float
    b: float
    marker: Marker | None = None


@dataclass(frozen=True)
class TubeSpec:
    """A closed generalised cylinder through its stations, rounded caps at both ends."""

    name: str
    stations: tuple[Station, ...]
    base_joint: str  # skins the tube before its first blending marker
    ref_axis: Vec3  # the a semi-axis points along this vector projected onto the ring plane
    n_around: int  # vertices per ring
    spacing: float  # target distance between rings, metres
    blend_half_width: float  # upper bound of the skinning hand-over half-width at a joint, metres
    cap_length: float  # cap length as a fraction of the end ring's smaller semi-axis


@dataclass(frozen=True)
class BlobSpec:
    """An ellipsoid rigidly attached to one joint (eyes, ears)."""

    name: str
    center: Vec3
    radii: Vec3
    joint: str
    n_lat: int  # rings between the poles (odd keeps the centroid on the equator)
    n_lon: int


def _j(name: str) -> Marker:
    return Marker(name)


def _s(x: float, y: float, z: float, a: float, b: float, marker: Marker | None = None) -> Station:
    return Station((x, y, z), a, b, marker)


JOINTS: dict[str, Vec3] = {
    "pelvis": (0.0, -0.35, 0.0),
    "left_hip": (0.072, -0.44, -0.005),
    "spine1": (0.0, -0.24, -0.015),
    "left_knee": (0.105, -0.83, 0.0),
    "spine2": (0.0, -0.11, -0.005),
    "left_ankle": (0.08, -1.215, -0.035),
    "spine3": (0.0, -0.055, 0.0),
    "left_foot": (0.115, -1.275, 0.085),
    "neck": (0.0, 0.155, -0.02),
    "left_collar": (0.075, 0.075, -0.01),
    "head": (0.0, 0.255, 0.0),
    "left_shoulder": (0.175, 0.095, -0.02),
    "left_elbow": (0.435, 0.08, -0.03),
    "left_wrist": (0.69, 0.078, -0.025),
    "jaw": (0.0, 0.215, 0.03),
    "left_eye_smplhf": (0.032, 0.30, 0.085),
    "left_index1": (0.785, 0.072, 0.0),
    "left_index2": (0.822, 0.072, 0.0),
    "left_index3": (0.846, 0.072, 0.0),
    "left_middle1": (0.79, 0.072, -0.021),
    "left_middle2": (0.83, 0.072, -0.021),
    "left_middle3": (0.857, 0.072, -0.021),
    "left_pinky1": (0.778, 0.07, -0.059),
    "left_pinky2": (0.806, 0.07, -0.059),
    "left_pinky3": (0.825, 0.07, -0.059),
    "left_ring1": (0.786, 0.071, -0.041),
    "left_ring2": (0.822, 0.071, -0.041),
    "left_ring3": (0.846, 0.071, -0.041),
    "left_thumb1": (0.715, 0.065, 0.005),
    "left_thumb2": (0.745, 0.062, 0.035),
    "left_thumb3": (0.768, 0.06, 0.055),
}
"""Rest joint positions of the centre and left joints (the generator mirrors the right ones)."""

SOLE_Y = -1.30  # height of the soles in the body-model frame
JAW_REGRESSOR_RADIUS = 0.1  # vertices of the head tube within this distance regress the jaw

_X: Vec3 = (1.0, 0.0, 0.0)
_Y: Vec3 = (0.0, 1.0, 0.0)


def _limb(name: str, stations: tuple[Station, ...], base: str, ref: Vec3, n: int, spacing: float,
          blend: float, cap: float = 1.0) -> TubeSpec:  # fmt: skip
    return TubeSpec(name, stations, base, ref, n, spacing, blend, cap)


def _finger(finger: str, xs: tuple[float, ...], y: float, z: float, radii: tuple[float, ...]) -> TubeSpec:
    """A finger along +x: start inside the palm, three joints, tip."""
    markers = (None, _j(f"left_{finger}1"), _j(f"left_{finger}2"), _j(f"left_{finger}3"), None)
    stations = tuple(_s(x, y, z, r, r, m) for x, r, m in zip(xs, radii, markers, strict=True))
    return _limb(f"left_{finger}", stations, "left_wrist", _Y, 8, 0.008, 0.01)


TUBES: tuple[TubeSpec, ...] = (
    _limb("torso", (
        _s(0.0, -0.47, -0.005, 0.09, 0.07),
        _s(0.0, -0.44, -0.01, 0.14, 0.095),
        _s(0.0, -0.35, 0.0, 0.155, 0.105, _j("pelvis")),
        _s(0.0, -0.24, -0.015, 0.14, 0.093, _j("spine1")),
        _s(0.0, -0.11, -0.005, 0.148, 0.098, _j("spine2")),
        _s(0.0, -0.055, 0.0, 0.156, 0.102, _j("spine3")),
        _s(0.0, 0.03, -0.005, 0.163, 0.105),
        _s(0.0, 0.095, -0.015, 0.158, 0.09),
        _s(0.0, 0.13, -0.02, 0.12, 0.072),
        _s(0.0, 0.155, -0.02, 0.05, 0.047, _j("neck")),
    ), "pelvis", _X, 40, 0.02, 0.04, 0.6),
    _limb("head", (
        _s(0.0, 0.09, -0.025, 0.05, 0.05),
        _s(0.0, 0.155, -0.02, 0.055, 0.053, Marker("neck", regress=False)),
        _s(0.0, 0.195, -0.005, 0.056, 0.058),
        _s(0.0, 0.215, 0.005, 0.068, 0.08, Marker("head", regress=False)),
        _s(0.0, 0.255, 0.0, 0.078, 0.094, Marker("head", blend=False)),
        _s(0.0, 0.30, 0.003, 0.08, 0.097),
        _s(0.0, 0.345, -0.003, 0.072, 0.088),
    ), "spine3", _X, 32, 0.0125, 0.04),
    _limb("nose", (
        _s(0.0, 0.283, 0.085, 0.011, 0.01),
        _s(0.0, 0.272, 0.105, 0.013, 0.012),
        _s(0.0, 0.266, 0.112, 0.011, 0.01),
    ), "head", _X, 10, 0.007, 0.0, 0.8),
    _limb("left_leg", (
        _s(0.078, -0.36, -0.005, 0.07, 0.088),
        _s(0.072, -0.44, -0.005, 0.072, 0.09, _j("left_hip")),
        _s(0.085, -0.56, 0.0, 0.075, 0.083),
        _s(0.098, -0.72, 0.005, 0.06, 0.062),
        _s(0.105, -0.83, 0.0, 0.052, 0.055, _j("left_knee")),
        _s(0.1, -0.93, -0.012, 0.054, 0.06),
        _s(0.088, -1.1, -0.03, 0.036, 0.039),
        _s(0.08, -1.215, -0.035, 0.034, 0.036, _j("left_ankle")),
        _s(0.08, -1.245, -0.035, 0.03, 0.032),
    ), "pelvis", _X, 24, 0.023, 0.05),
    _limb("left_foot", (
        _s(0.08, -1.262, -0.095, 0.03, 0.028),
        _s(0.08, -1.255, -0.04, 0.038, 0.042),
        _s(0.095, -1.265, 0.02, 0.045, 0.033),
        _s(0.115, -1.275, 0.085, 0.048, 0.023, _j("left_foot")),
        _s(0.122, -1.281, 0.135, 0.042, 0.017),
    ), "left_ankle", _X, 20, 0.016, 0.025),
    _limb("left_arm", (
        _s(0.035, 0.075, -0.012, 0.045, 0.045),
        _s(0.075, 0.075, -0.01, 0.05, 0.05, _j("left_collar")),
        _s(0.13, 0.092, -0.018, 0.06, 0.058),
        _s(0.175, 0.095, -0.02, 0.054, 0.052, _j("left_shoulder")),
        _s(0.26, 0.088, -0.025, 0.047, 0.047),
        _s(0.39, 0.082, -0.03, 0.039, 0.041),
        _s(0.435, 0.08, -0.03, 0.037, 0.039, _j("left_elbow")),
        _s(0.51, 0.08, -0.028, 0.036, 0.041),
        _s(0.66, 0.078, -0.025, 0.022, 0.03),
        _s(0.69, 0.078, -0.025, 0.02, 0.031, _j("left_wrist")),
        _s(0.705, 0.078, -0.025, 0.018, 0.03),
    ), "spine3", _Y, 20, 0.02, 0.045),
    _limb("left_palm", (
        _s(0.672, 0.075, -0.027, 0.016, 0.029),
        _s(0.69, 0.075, -0.027, 0.018, 0.034, Marker("left_wrist", regress=False)),
        _s(0.735, 0.073, -0.028, 0.018, 0.045),
        _s(0.78, 0.072, -0.03, 0.015, 0.046),
        _s(0.79, 0.072, -0.03, 0.012, 0.042),
    ), "left_elbow", _Y, 16, 0.011, 0.012, 0.8),
    _finger("index", (0.775, 0.785, 0.822, 0.846, 0.862), 0.072, 0.0,
            (0.0095, 0.0095, 0.0088, 0.0082, 0.0078)),
    _finger("middle", (0.778, 0.79, 0.83, 0.857, 0.875), 0.072, -0.021,
            (0.0098, 0.0098, 0.009, 0.0085, 0.0082)),
    _finger("ring", (0.775, 0.786, 0.822, 0.846, 0.862), 0.071, -0.041,
            (0.0092, 0.0092, 0.0086, 0.008, 0.0078)),
    _finger("pinky", (0.768, 0.778, 0.806, 0.825, 0.838), 0.07, -0.059,
            (0.0082, 0.0082, 0.0078, 0.0073, 0.007)),
    _limb("left_thumb", (
        _s(0.7, 0.066, -0.01, 0.012, 0.012),
        _s(0.715, 0.065, 0.005, 0.012, 0.012, _j("left_thumb1")),
        _s(0.745, 0.062, 0.035, 0.0108, 0.0108, _j("left_thumb2")),
        _s(0.768, 0.06, 0.055, 0.01, 0.01, _j("left_thumb3")),
        _s(0.785, 0.058, 0.07, 0.0095, 0.0095),
    ), "left_wrist", _Y, 8, 0.008, 0.01),
)  # fmt: skip

BLOBS: tuple[BlobSpec, ...] = (
    BlobSpec("left_eye", JOINTS["left_eye_smplhf"], (0.0125, 0.0125, 0.0125), "left_eye_smplhf", 5, 10),
    BlobSpec("left_ear", (0.079, 0.285, -0.005), (0.012, 0.03, 0.02), "head", 5, 10),
)
