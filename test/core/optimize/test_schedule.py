"""Frames in flight: the staggered schedule and the one Adam over the frames' parameter sets."""

import torch

from zerohsi_core.optimize.schedule import GroupedAdam, Staggered


def test_staggered_schedule_counts() -> None:
    sequential = Staggered(num_frames=4, iters=10)
    assert (sequential.stagger, sequential.width, sequential.steps) == (10, 1, 30)
    assert [sequential.active(s) for s in (0, 9, 10, 29)] == [[1], [1], [2], [3]]
    flight = Staggered(num_frames=6, iters=10, frames_in_flight=3)
    assert (flight.stagger, flight.width, flight.steps) == (4, 3, 4 * 4 + 10)
    assert flight.starting(8) == [3] and flight.starting(9) == []
    assert flight.active(9) == [1, 2, 3] and flight.active(10) == [2, 3]
    runs = [sum(t in flight.active(s) for s in range(flight.steps)) for t in range(1, 6)]
    assert runs == [10] * 5  # every frame runs all its iterations


def _quadratic_grads(variables: list[torch.Tensor], targets: list[torch.Tensor]) -> None:
    loss = sum(((v - t) ** 2).sum() for v, t in zip(variables, targets, strict=True))
    loss.backward()


def test_grouped_adam_equals_one_adam_per_set() -> None:
    gen = torch.Generator().manual_seed(1)
    sets = {k: [torch.randn(3, generator=gen), torch.randn(2, 2, generator=gen)] for k in "ab"}
    targets = {k: [torch.randn(v.shape, generator=gen) for v in vs] for k, vs in sets.items()}
    mine = {k: [v.clone().requires_grad_(True) for v in vs] for k, vs in sets.items()}
    theirs = {k: [v.clone().requires_grad_(True) for v in vs] for k, vs in sets.items()}
    adams = {k: torch.optim.Adam(vs, lr=0.1) for k, vs in theirs.items()}
    grouped = GroupedAdam(lr=0.1)
    grouped.add("a", mine["a"])
    for step in range(12):
        if step == 4:  # "b" starts late: its own step count, so its own bias correction
            grouped.add("b", mine["b"])
        if step == 9:
            grouped.remove("a")
        live = [k for k in "ab" if (k == "a" and step < 9) or (k == "b" and step >= 4)]
        grouped.zero_grad()
        for k in live:
            adams[k].zero_grad()
            mine[k][1].requires_grad_(step % 3 != 0)  # a tensor without gradient is skipped
            theirs[k][1].requires_grad_(step % 3 != 0)
            _quadratic_grads(mine[k], targets[k])
            _quadratic_grads(theirs[k], targets[k])
            adams[k].step()
        grouped.step()
    for k in "ab":
        for m, t, start in zip(mine[k], theirs[k], sets[k], strict=True):
            assert (m - start).abs().max() > 0.1  # it moved
            torch.testing.assert_close(m, t, rtol=0, atol=1e-6)
    assert len(grouped.optimizer.param_groups) == 1 and len(grouped.optimizer.state) == 2
