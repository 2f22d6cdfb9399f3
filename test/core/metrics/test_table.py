"""The evaluation table: means per setting, diversity per input group, cells that do not apply."""

import pytest

from zerohsi_core.metrics.table import COLUMNS, EvalRow, EvalTable, cell, mean_row, to_markdown

STATIC = [
    EvalRow(
        "a", "living_room", "", "sit", 0, 8, {"pene_scene": 0.02, "foot_sliding_mm": 1.0, "diversity": 0.1}
    ),
    EvalRow(
        "b", "living_room", "", "sit", 1, 8, {"pene_scene": 0.04, "foot_sliding_mm": 3.0, "diversity": 0.1}
    ),
]
DYNAMIC = EvalRow("c", "living_room_lift", "box", "lift", 0, 8, {"contact": 0.75, "pene_obj_cm": 0.5})


def test_means_average_rows_and_diversity_groups() -> None:
    mean = mean_row("mean (static)", STATIC, [0.1, 0.3], dynamic=False)
    assert mean.values["pene_scene"] == pytest.approx(0.03)
    assert mean.values["foot_sliding_mm"] == pytest.approx(2.0)
    assert mean.values["diversity"] == pytest.approx(0.2)  # one value per input group, not per row
    assert mean.frames == 16 and mean.seed is None and "contact" not in mean.values
    dynamic = mean_row("mean (dynamic)", [DYNAMIC], [], dynamic=True)
    assert dynamic.object_id == "box" and "diversity" not in dynamic.values


def test_cells_say_whether_a_value_is_missing_or_does_not_apply() -> None:
    by_key = {c.key: c for c in COLUMNS}
    assert cell(STATIC[0], by_key["pene_scene"]) == "0.0200"
    assert cell(STATIC[0], by_key["contact"]) == "—"  # no object: Cont. does not apply
    assert cell(STATIC[0], by_key["clip_score"]) == "n/a"
    assert cell(DYNAMIC, by_key["contact"]) == "0.750"
    text = to_markdown(EvalTable([*STATIC, DYNAMIC], [], ["a note"]))
    assert text.count("\n| ") == 3 and text.rstrip().endswith("- a note")
