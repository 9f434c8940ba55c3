"""Tests for ch11lib.distillation: student initialisation and the triple loss against hand formulas."""

from __future__ import annotations

import math

import pytest
import torch
from tiny import tiny_bert_config
from transformers import BertModel

from ch11lib.distillation import (
    compare_inference,
    distill,
    distillation_loss,
    every_other_layer,
    hidden_cosine_loss,
    make_student,
    soft_target_loss,
)
from ch11lib.heads import SequenceClassifier
from ch11lib.training import count_parameters


def _teacher(layers: int = 6, seed: int = 0) -> SequenceClassifier:
    torch.manual_seed(seed)
    config = tiny_bert_config(vocab_size=50, num_hidden_layers=layers)
    return SequenceClassifier(BertModel(config), 3).eval()


def _batches(n: int = 4, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(n):
        mask = torch.ones(8, 6, dtype=torch.long)
        mask[::3, 4:] = 0
        batches.append(
            {
                "input_ids": torch.randint(1, 50, (8, 6), generator=generator),
                "attention_mask": mask,
                "labels": torch.randint(0, 3, (8,), generator=generator),
            }
        )
    return batches


def test_student_layers_are_the_teachers_every_other_layer() -> None:
    teacher = _teacher()
    before = {name: p.clone() for name, p in teacher.state_dict().items()}
    student = make_student(teacher)
    assert every_other_layer(6) == (0, 2, 4)
    assert len(student.encoder.encoder.layer) == 3 == student.encoder.config.num_hidden_layers
    for student_index, teacher_index in enumerate((0, 2, 4)):
        ours = student.encoder.encoder.layer[student_index].state_dict()
        theirs = teacher.encoder.encoder.layer[teacher_index].state_dict()
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert torch.equal(
        student.encoder.embeddings.word_embeddings.weight,
        teacher.encoder.embeddings.word_embeddings.weight,
    )
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)
    assert count_parameters(teacher) - count_parameters(student) == 3 * count_parameters(
        teacher.encoder.encoder.layer[0]
    )
    # the copy is independent, and the teacher keeps its 6 layers
    with torch.no_grad():
        student.encoder.encoder.layer[0].output.dense.weight.add_(1.0)
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert teacher.encoder.config.num_hidden_layers == 6
    student = make_student(teacher, layers=(1, 5))
    assert torch.equal(
        student.encoder.encoder.layer[1].attention.self.query.weight,
        teacher.encoder.encoder.layer[5].attention.self.query.weight,
    )
    with pytest.raises(ValueError):
        make_student(teacher, layers=(4, 2))
    with pytest.raises(ValueError):
        make_student(teacher, layers=(0, 6))


def test_soft_target_loss_equals_t_squared_kl() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(5, 3), torch.randn(5, 3)
    for temperature in (1.0, 2.0, 4.0):
        p = torch.softmax(teacher / temperature, -1)
        q = torch.softmax(student / temperature, -1)
        hand = temperature**2 * (p * (p.log() - q.log())).sum(-1).mean()
        torch.testing.assert_close(soft_target_loss(student, teacher, temperature), hand)
    assert float(soft_target_loss(teacher, teacher, 2.0)) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="temperature"):
        soft_target_loss(student, teacher, 0.0)
    with pytest.raises(ValueError, match="logits"):
        soft_target_loss(student, teacher[:, :2])


def test_cosine_loss_and_triple_loss_equal_hand_formulas() -> None:
    torch.manual_seed(1)
    hs, ht = torch.randn(2, 4, 5), torch.randn(2, 4, 5)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    terms = []
    for b in range(2):
        for i in range(4):
            if mask[b, i]:
                cos = float(hs[b, i] @ ht[b, i]) / (float(hs[b, i].norm()) * float(ht[b, i].norm()))
                terms.append(1 - cos)
    assert float(hidden_cosine_loss(hs, ht, mask)) == pytest.approx(
        sum(terms) / len(terms), rel=1e-5
    )
    assert float(hidden_cosine_loss(ht, ht, mask)) == pytest.approx(0.0, abs=1e-6)
    logits_s, logits_t = torch.randn(2, 3), torch.randn(2, 3)
    labels = torch.tensor([0, 2])
    loss = distillation_loss(
        logits_s, logits_t, labels, hs, ht, mask, 2.0, {"soft": 0.5, "hard": 2.0}
    )
    hard = -torch.log_softmax(logits_s, -1)[torch.arange(2), labels].mean()
    expected = 0.5 * soft_target_loss(logits_s, logits_t, 2.0) + 2.0 * hard + 1.0 * loss.cosine
    torch.testing.assert_close(loss.total, expected)
    torch.testing.assert_close(loss.hard, hard)
    assert not math.isnan(loss.parts()["total"])
    with pytest.raises(ValueError, match="unknown"):
        distillation_loss(logits_s, logits_t, labels, hs, ht, mask, weights={"mlm": 1.0})


def test_distillation_steps_reduce_the_loss_and_leave_the_teacher_alone() -> None:
    teacher = _teacher(layers=4)
    teacher_state = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = make_student(teacher)
    batches = _batches()
    history = distill(student, teacher, batches, epochs=8, lr=3e-3, progress=False)
    first = sum(step["total"] for step in history.steps[:4])
    last = sum(step["total"] for step in history.steps[-4:])
    assert last < first
    assert all(torch.equal(teacher_state[k], v) for k, v in teacher.state_dict().items())
    timing = compare_inference({"teacher": teacher, "student": student}, batches, repeats=2)
    assert set(timing) == {"teacher", "student"}
    assert all(0.0 <= t["min"] <= t["median"] for t in timing.values())
    with pytest.raises(ValueError, match="repeats"):
        compare_inference({"student": student}, batches, repeats=0)
