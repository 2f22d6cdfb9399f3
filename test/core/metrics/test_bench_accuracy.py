"""The accuracy benchmark's bookkeeping: a failing case becomes a row, the report grows row by row."""

import json
import math

import pytest

import zerohsi_core.bench_accuracy as bench
from zerohsi_core.config import Config
from zerohsi_core.errors import BackendError, Cancelled, InputError


class _NoPipeline:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg


def test_a_failing_case_is_a_row_and_the_report_grows_row_by_row(monkeypatch, tmp_path) -> None:
    report = tmp_path / "acc.json"
    seen: list[int] = []  # rows already in the report when each case starts

    def run_case(pipeline, case, seed):
        seen.append(len(json.loads(report.read_text())["rows"]) if report.exists() else 0)
        if case.name == "lean":
            raise BackendError("segmenter found the human in none of the 8 frames")
        per_frame = {"mpjpe_mm": [90.0, 110.0]}  # the lists stay in the report, out of the means and the log
        return {"mpjpe_mm": {"sit": 100.0, "lie": 300.0}[case.name], "frames": 8.0, "per_frame": per_frame}

    monkeypatch.setattr(bench, "Pipeline", _NoPipeline)
    monkeypatch.setattr(bench, "run_case", run_case)
    cases = [c for c in bench.CASES if c.name in ("sit", "lean", "lie")]
    logged: list[str] = []
    rows = bench.run_benchmark(Config(), cases, ["clean"], log=logged.append, report=report)
    assert seen == [0, 1, 2]  # written after every row
    assert [r["case"] for r in rows] == ["sit", "lean", "lie"]
    assert "none of the 8 frames" in str(rows[1]["error"]) and "failed" in logged[1]
    (mean,) = bench.summary(rows)
    assert mean["mpjpe_mm"] == pytest.approx(200.0) and mean["failed"] == 1.0  # over the cases that ran
    assert json.loads(report.read_text())["mean"][0]["failed"] == 1.0
    assert json.loads(report.read_text())["rows"][0]["per_frame"] == {"mpjpe_mm": [90.0, 110.0]}
    assert logged[0].endswith("mpjpe_mm 100.00, frames 8.00")
    assert bench.metric_keys(rows) == ["mpjpe_mm", "frames"]
    assert math.isnan(bench.summary([rows[1]])[0].get("mpjpe_mm", math.nan))

    def cancelled(pipeline, case, seed):
        raise Cancelled("stopped")

    monkeypatch.setattr(bench, "run_case", cancelled)
    with pytest.raises(Cancelled):  # a cancel stops the benchmark, it is not a failed case
        bench.run_benchmark(Config(), cases, ["clean"], log=logged.append)


def test_repeated_runs_are_rows_and_their_spread_is_summarised(monkeypatch) -> None:
    """--repeats N: N rows per case (numbered), the mean over all runs, and the per-case standard deviation of
    the MPJPE averaged over the cases."""
    results = iter([100.0, 110.0, 120.0, 50.0, 50.0, 50.0])  # sit: sd 10; lie: sd 0

    def run_case(pipeline, case, seed):
        return {"mpjpe_mm": next(results)}

    monkeypatch.setattr(bench, "Pipeline", _NoPipeline)
    monkeypatch.setattr(bench, "run_case", run_case)
    cases = [c for c in bench.CASES if c.name in ("sit", "lie")]
    rows = bench.run_benchmark(Config(), cases, ["clean"], log=lambda _: None, repeats=3)
    assert [(r["case"], r["repeat"]) for r in rows] == [(c, i) for c in ("sit", "lie") for i in range(3)]
    assert bench.metric_keys(rows) == ["mpjpe_mm"]  # the run number is not a metric
    (mean,) = bench.summary(rows)
    assert mean["mpjpe_mm"] == pytest.approx(80.0) and mean["mpjpe_sd_mm"] == pytest.approx(5.0)
    assert "mpjpe_sd_mm" not in bench.summary(rows[:1])[0]  # one run: no spread
    with pytest.raises(InputError, match="repeats"):
        bench.run_benchmark(Config(), cases, ["clean"], repeats=0)
