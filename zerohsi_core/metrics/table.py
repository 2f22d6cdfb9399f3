"""The evaluation table in the paper's column order (Tables 1–2), as rows, markdown and JSON."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOT_APPLICABLE = "—"
MISSING = "n/a"


@dataclass(frozen=True)
class Column:
    """One metric column: key in the metric dicts, header, unit, decimals shown."""

    key: str
    header: str
    unit: str
    digits: int


# Tables 1–2: CLIP, CLIP cons., Div, Pene_%scene, Pene_mean, Pene_max, then FS (static) / Cont., Pene_obj.
COLUMNS: tuple[Column, ...] = (
    Column("clip_score", "CLIP ↑", "100·cos", 2),
    Column("clip_consistency", "CLIP cons. ↑", "cos", 4),
    Column("diversity", "Div ↑", "m", 4),
    Column("pene_scene", "Pene_%scene ↓", "fraction", 4),
    Column("pene_mean_cm", "Pene_mean ↓", "cm", 3),
    Column("pene_max_cm", "Pene_max ↓", "cm", 3),
    Column("foot_sliding_mm", "FS ↓", "mm/frame", 3),
    Column("contact", "Cont. ↑", "fraction", 3),
    Column("pene_obj_cm", "Pene_obj ↓", "cm", 3),
)
CLIP_KEYS = ("clip_score", "clip_consistency")
OBJECT_KEYS = ("contact", "pene_obj_cm")


@dataclass(frozen=True)
class EvalRow:
    """One evaluated sequence (or a mean): what it is and its metric values (absent = not computed)."""

    name: str
    scene: str
    object_id: str
    prompt: str
    seed: int | None
    frames: int
    values: dict[str, float] = field(default_factory=dict)

    @property
    def dynamic(self) -> bool:
        """Whether the sequence interacts with a movable object (the paper's Table 2 setting)."""
        return bool(self.object_id)


@dataclass(frozen=True)
class EvalTable:
    """Rows per sequence, mean rows per setting, and notes (why columns are missing)."""

    rows: list[EvalRow]
    means: list[EvalRow]
    notes: list[str] = field(default_factory=list)


def mean_row(name: str, rows: Sequence[EvalRow], group_diversity: Sequence[float], dynamic: bool) -> EvalRow:
    """Mean of each metric over the rows that have it; diversity averaged over input groups."""
    values: dict[str, float] = {}
    for column in COLUMNS:
        found = [r.values[column.key] for r in rows if column.key in r.values]
        if column.key == "diversity":
            found = list(group_diversity)
        if found:
            values[column.key] = sum(found) / len(found)
    frames = sum(r.frames for r in rows)
    objects = ", ".join(sorted({r.object_id for r in rows})) if dynamic else ""
    return EvalRow(name, "", objects, f"{len(rows)} sequences", None, frames, values)


def cell(row: EvalRow, column: Column) -> str:
    """A formatted value: digits as the column says, n/a if not computed, — if it does not apply."""
    if column.key in row.values and not math.isnan(row.values[column.key]):
        return f"{row.values[column.key]:.{column.digits}f}"
    if column.key in OBJECT_KEYS and not row.dynamic:
        return NOT_APPLICABLE
    return MISSING


def header_cells(compact: bool = False) -> list[str]:
    """The table header: identity columns, then each metric (with its unit unless compact)."""
    identity = (
        ["sequence", "seed", "frames"]
        if compact
        else ["sequence", "scene", "object", "prompt", "seed", "frames"]
    )
    return identity + [c.header if compact else f"{c.header} ({c.unit})" for c in COLUMNS]


def row_cells(row: EvalRow, compact: bool = False) -> list[str]:
    """One table row as strings (compact: without scene, object and prompt)."""
    seed = "" if row.seed is None else str(row.seed)
    described = [row.scene, row.object_id or NOT_APPLICABLE, row.prompt]
    identity = [row.name, seed, str(row.frames)] if compact else [row.name, *described, seed, str(row.frames)]
    return identity + [cell(row, c) for c in COLUMNS]


def to_markdown(table: EvalTable) -> str:
    """The table as GitHub markdown, notes below."""
    header = header_cells()
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in [*table.rows, *table.means]]
    return "\n".join(lines + [""] + [f"- {note}" for note in table.notes]) + "\n"


def to_json(table: EvalTable) -> dict[str, Any]:
    """The table as JSON-ready data, with the column definitions."""
    return {
        "columns": [dataclasses.asdict(c) for c in COLUMNS],
        "rows": [dataclasses.asdict(r) for r in table.rows],
        "means": [dataclasses.asdict(r) for r in table.means],
        "notes": table.notes,
    }


def write_table(table: EvalTable, out_dir: Path) -> tuple[Path, Path]:
    """eval.json and eval.md in out_dir; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "eval.json", out_dir / "eval.md"
    json_path.write_text(json.dumps(to_json(table), indent=2, ensure_ascii=False))
    md_path.write_text(to_markdown(table))
    return json_path, md_path
