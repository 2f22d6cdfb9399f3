"""Prompt → motion: the verb picks the motion kind, nouns pick the scene's surface, object and destination.

"sit on the sofa" → sit_on(sofa_seat); "carry the box to the table" → carry(box, table_top). Unknown
verbs and missing surfaces or objects raise InputError saying what is supported or what the scene has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from zerohsi_core.errors import InputError
from zerohsi_core.scene.procedural import procedural_object_names
from zerohsi_core.scene.scene import Scene, Surface
from zerohsi_core.video.motions import OBJECT_KINDS, SURFACE_KINDS, MotionSpec

# Verb forms of each motion kind; when a prompt has several, the most specific kind (earliest here) wins.
VERBS: dict[str, tuple[str, ...]] = {
    "carry": ("carry", "carries", "carrying", "carried", "bring", "brings", "bringing", "put", "puts",
              "putting", "place", "places", "placing", "take", "takes", "taking"),
    "push": ("push", "pushes", "pushing", "pushed", "shove", "shoves", "shoving", "slide", "slides",
             "sliding"),
    "lift": ("lift", "lifts", "lifting", "lifted", "pick", "picks", "picking", "raise", "raises", "raising",
             "hold", "holds", "holding", "grab", "grabs", "grabbing"),
    "lie_on": ("lie", "lies", "lying", "lay", "lays", "laying", "recline", "reclines", "reclining", "nap",
               "naps", "napping", "sleep", "sleeps", "sleeping"),
    "sit_on": ("sit", "sits", "sitting", "sat", "seated", "perch", "perches", "perching"),
    "lean_on": ("lean", "leans", "leaning", "leaned", "lent", "prop", "props", "propping", "rest", "rests",
                "resting"),
    "wave": ("wave", "waves", "waving", "waved", "greet", "greets", "greeting", "hello", "hi"),
    "walk_to": ("walk", "walks", "walking", "walked", "go", "goes", "going", "approach", "approaches",
                "approaching", "stroll", "strolls", "strolling", "step", "steps", "head", "heads", "heading"),
}  # fmt: skip
# Words that name the same thing as a token of a surface name or object id.
SYNONYMS: dict[str, str] = {
    "couch": "sofa", "settee": "sofa", "desk": "table", "coffee": "table", "bookshelf": "shelf",
    "bookcase": "shelf", "shelves": "shelf", "stool": "chair", "armchair": "chair", "crate": "box",
    "carton": "box", "package": "box", "parcel": "box", "can": "watering", "plants": "planter",
    "plant": "planter", "flowerbed": "planter", "soil": "planter", "backrest": "back",
}  # fmt: skip
DESTINATION_WORDS = ("to", "onto", "into", "on", "toward", "towards", "over", "beside", "next", "near")
PREFERRED_PART = {"sit_on": "seat", "lie_on": "seat", "lean_on": "top"}  # surface part a kind prefers
NOUN_SCORE, PART_SCORE, PREFERENCE_SCORE = 2.0, 1.0, 0.5


def tokens(text: str) -> list[str]:
    """Lower-case words of a prompt or name with synonyms mapped to the scene's vocabulary."""
    words = re.findall(r"[a-z]+", text.lower().replace("_", " "))
    return [SYNONYMS.get(word, word) for word in words]


def supported_verbs() -> str:
    """The verbs understood, one per motion kind, for error messages."""
    return ", ".join(
        forms[0] if forms[0] == kind else f"{forms[0]} ({kind})" for kind, forms in VERBS.items()
    )


def motion_kind(words: list[str]) -> tuple[str, int]:
    """(kind, index of its verb) of the most specific motion whose verb appears in the words."""
    for kind, forms in VERBS.items():
        for index, word in enumerate(words):
            if word in forms:
                return kind, index
    raise InputError(f"the prompt names no supported action; supported verbs: {supported_verbs()}")


def _surface_score(name: str, words: Iterable[str], kind: str) -> float:
    parts = tokens(name)
    present = set(words)
    if not parts or parts[0] not in present:
        return 0.0
    score = NOUN_SCORE + PART_SCORE * sum(part in present for part in parts[1:])
    return score + (PREFERENCE_SCORE if PREFERRED_PART.get(kind) in parts else 0.0)


def match_surface(scene: Scene, words: list[str], kind: str) -> Surface | None:
    """The scene surface whose name the words mention best (the noun first, then its part), or None."""
    scored = [(_surface_score(name, words, kind), name) for name in sorted(scene.affordances)]
    best = max(scored, default=(0.0, ""))
    return scene.affordances[best[1]] if best[0] > 0 else None


def match_object(scene: Scene, words: list[str]) -> str | None:
    """The id of the scene object the words mention, or None."""
    present = set(words)
    for object_id in sorted(scene.objects):
        if set(tokens(object_id)) & present:
            return object_id
    return None


def _available(scene: Scene) -> str:
    surfaces = ", ".join(sorted(scene.affordances)) or "none"
    objects = ", ".join(sorted(scene.objects)) or "none"
    return f"scene {scene.id!r} has surfaces: {surfaces}; objects: {objects}"


def _object_for(scene: Scene, words: list[str], object_id: str | None, prompt: str) -> str:
    named = match_object(scene, words)
    known = {t for name in procedural_object_names() for t in tokens(name)}
    strangers = sorted(set(words) & known - {t for oid in scene.objects for t in tokens(oid)})
    if named is None and strangers:
        raise InputError(
            f"the prompt {prompt!r} names {', '.join(strangers)}, which is not here; {_available(scene)}"
        )
    if object_id is not None and object_id not in scene.objects:
        raise InputError(f"object {object_id!r} is not in the scene; {_available(scene)}")
    if named is not None and object_id is not None and named != object_id:
        raise InputError(
            f"the prompt {prompt!r} names object {named!r} but the object in play is {object_id!r}"
        )
    chosen = named or object_id
    if chosen is None:
        raise InputError(f"the prompt {prompt!r} needs an object to handle; {_available(scene)}")
    return chosen


def motion_for_prompt(prompt: str, scene: Scene, object_id: str | None = None) -> MotionSpec:
    """The motion a prompt asks for in this scene, with `object_id` the object in play (or None)."""
    words = tokens(prompt)
    kind, verb_at = motion_kind(words)
    if kind in SURFACE_KINDS:
        surface = match_surface(scene, words, kind)
        if surface is None:
            raise InputError(
                f"the prompt {prompt!r} names no surface to {VERBS[kind][0]} on; {_available(scene)}"
            )
        return MotionSpec(kind, surface=surface, description=prompt)
    if kind in OBJECT_KINDS:
        chosen = _object_for(scene, words, object_id, prompt)
        if kind == "lift" and not any(w in DESTINATION_WORDS for w in words[verb_at + 1 :]):
            return MotionSpec(kind, object_id=chosen, description=prompt)
        tail = _after_destination_word(words, verb_at)
        destination = match_surface(scene, tail, "lean_on") if tail else None
        if (
            tail
            and destination is None
            and kind in ("carry", "lift")
            and set(tail) - set(tokens(chosen)) - {"it"}
        ):
            raise InputError(f"the prompt {prompt!r} names no known destination; {_available(scene)}")
        if kind == "push":
            return MotionSpec(kind, object_id=chosen, description=prompt)
        return MotionSpec(
            "carry" if destination is not None else kind,
            object_id=chosen,
            destination=destination,
            description=prompt,
        )
    if kind == "walk_to":
        surface = match_surface(scene, words, kind)
        named = match_object(scene, words)
        if surface is None and named is None:
            raise InputError(f"the prompt {prompt!r} names no place to walk to; {_available(scene)}")
        return MotionSpec(
            kind, surface=surface, object_id=None if surface is not None else named, description=prompt
        )
    return MotionSpec(kind, description=prompt)


def _after_destination_word(words: list[str], verb_at: int) -> list[str]:
    """Words after the first destination preposition that follows the verb (empty if there is none)."""
    for index in range(verb_at + 1, len(words)):
        if words[index] in DESTINATION_WORDS:
            return [w for w in words[index + 1 :] if w not in ("the", "a", "an", "of", "to")]
    return []
