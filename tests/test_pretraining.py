"""Tests for ch11lib.pretraining's schedule: the same shape as transformers' linear warm-up schedule."""

from __future__ import annotations

import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from ch11lib.pretraining import linear_warmup_decay


@pytest.mark.parametrize(("total", "warmup"), [(100, 10), (37, 1), (20, 19), (5, 0)])
def test_linear_warmup_decay_is_transformers_schedule_one_step_ahead_in_warmup(total, warmup):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = get_linear_schedule_with_warmup(optimizer, warmup, total)
    library = schedule.lr_lambdas[0]
    for step in range(total + 3):
        ours = linear_warmup_decay(step, total, warmup)
        if step < warmup:
            # transformers starts at 0 (a first update that changes nothing); ours at 1 / warmup
            assert ours == pytest.approx(library(step + 1)), step
        else:
            assert ours == pytest.approx(library(step)), step
    assert linear_warmup_decay(total, total, warmup) == 0.0
    if warmup:
        assert library(0) == 0.0 and linear_warmup_decay(0, total, warmup) == pytest.approx(
            1 / warmup
        )
