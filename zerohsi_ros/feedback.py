"""Action feedback from the core's ProgressEvents: which stage, and how far along the whole goal."""

from __future__ import annotations

from zerohsi_core.pipeline import STAGES
from zerohsi_core.progress import ProgressEvent
from zerohsi_ros.action import GenerateInteraction

# Sub-stages the core reports under their own names, counted as part of a pipeline stage.
STAGE_ALIASES = {"view": "view_selection"}


class ProgressTracker:
    """Turns per-stage progress into overall progress over `num_clips` chained clips of len(STAGES)
    stages each; a stage earlier than the last one seen means the next clip has started."""

    def __init__(self, num_clips: int) -> None:
        self.num_clips = max(1, num_clips)
        self.clip = 0
        self._last_stage = 0

    def feedback(self, event: ProgressEvent) -> GenerateInteraction.Feedback:
        """The action feedback of one event."""
        stage = STAGE_ALIASES.get(event.stage, event.stage)
        if stage in STAGES:
            index = STAGES.index(stage)
            if index < self._last_stage:
                self.clip = min(self.clip + 1, self.num_clips - 1)
            self._last_stage = index
        within = (self._last_stage + min(max(event.progress, 0.0), 1.0)) / len(STAGES)
        return GenerateInteraction.Feedback(
            stage=stage,
            progress=float((self.clip + within) / self.num_clips),
            clip=self.clip,
            frame=max(event.frame, 0),
            iteration=max(event.iteration, 0),
            loss=float(event.loss),
        )

    def finished(self, stage: str) -> GenerateInteraction.Feedback:
        """Feedback for a step after the pipeline (e.g. writing results), at progress 1."""
        return GenerateInteraction.Feedback(stage=stage, progress=1.0, clip=self.num_clips - 1)
