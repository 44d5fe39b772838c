"""`kapcds promote` (issue 23, defect 7): shows the per-outcome comparison with the current
version, refuses a promotion that greys an outcome or lowers an AUC unless --confirm and
--reason are given, and keeps the reason in the audit trail. Placeholder model sets with
constructed cards: the review reads only the cards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from security_helpers import placeholder_model_set

from base import settings
from models.contract.schema import OUTCOMES, schema_hash
from models.store.registry import Registry
from records.audit import trail as audit
from records.db import make_engine, session_factory

CAL = {"calibration_slope": {"value": 1.1, "lo": 0.9, "hi": 1.3},
       "calibration_intercept": {"value": 0.0, "lo": -0.2, "hi": 0.2}}


def _card(auc: float, dissociation_lo: float) -> dict[str, Any]:
    metrics = {o.name: {"auc": {"value": auc, "lo": auc - 0.05, "hi": auc + 0.05}, **CAL}
               for o in OUTCOMES}
    metrics["significant_dissociation"]["auc"]["lo"] = dissociation_lo
    return {"title": "test card", "schema_hash": schema_hash(), "metrics": metrics}


def _versions() -> tuple[Registry, str, str, str]:
    """A current version, a worse candidate (greys dissociation) and a better one."""
    registry = Registry(settings.default_registry_dir())
    current = registry.register(placeholder_model_set("cur"), _card(0.78, 0.70), "# c\n")
    registry.promote(current)
    worse = registry.register(placeholder_model_set("worse"), _card(0.74, 0.55), "# w\n")
    better = registry.register(placeholder_model_set("better"), _card(0.80, 0.72), "# b\n")
    return registry, current, worse, better


def _promotions() -> list[tuple[str, str]]:
    engine = make_engine()
    try:
        with session_factory(engine)() as db:
            return [(e["outcome"], e["detail"]) for e in audit.iter_entries(db)
                    if e["action"] == "model_promotion"]
    finally:
        engine.dispose()


def test_a_worse_version_is_refused_with_the_comparison_shown(cli: Callable[..., Any]) -> None:
    registry, current, worse, _ = _versions()
    refused = cli("promote", worse, "--registry", str(registry.root))
    assert refused.returncode == 1
    assert registry.current_version() == current
    lines = refused.stdout.splitlines()
    assert lines[0].startswith(f"{worse} (candidate) against {current} (current)")
    assert "Significant dissociation  0.78 (95 % CI 0.70–0.83)  0.74 (95 % CI 0.55–0.79)" \
        in refused.stdout
    assert "shown     greyed      becomes greyed, worse" in refused.stdout
    assert any(line.startswith("WARNING: Would become greyed for every clinician (fails the "
                               "quality gate): Significant dissociation") for line in lines)
    worse_line = [line for line in lines if line.startswith("WARNING: Worse than")][0]
    assert all(o.label in worse_line for o in OUTCOMES)
    assert "not promoted: this promotion greys or worsens Significant dissociation" in \
        refused.stderr
    only_reason = cli("promote", worse, "--registry", str(registry.root), "--reason",
                      "the clinic asked for it")
    assert only_reason.returncode == 1 and "confirm it explicitly" in only_reason.stderr
    no_reason = cli("promote", worse, "--registry", str(registry.root), "--confirm")
    assert no_reason.returncode == 1 and "type the reason" in no_reason.stderr
    assert registry.current_version() == current
    assert [o for o, _ in _promotions()] == ["failure"] * 3


def test_confirmed_with_a_reason_it_is_promoted_and_the_reason_audited(
        cli: Callable[..., Any]) -> None:
    registry, current, worse, _ = _versions()
    done = cli("promote", worse, "--registry", str(registry.root), "--confirm", "--reason",
               "validated locally on the spring cohort")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"current model version: {worse}"
    assert registry.current_version() == worse
    outcome, detail = _promotions()[-1]
    assert outcome == "success"
    assert detail.startswith(f"version {worse} (was {current}); reason: validated locally on "
                             "the spring cohort; becomes greyed: Significant dissociation; "
                             "worse: ")


def test_a_better_version_needs_no_confirmation(cli: Callable[..., Any]) -> None:
    registry, current, _, better = _versions()
    done = cli("promote", better, "--registry", str(registry.root))
    assert done.returncode == 0, done.stderr
    assert "No outcome would become greyed or get worse." in done.stdout
    assert registry.current_version() == better
    outcome, detail = _promotions()[-1]  # then the signed promotion record's text (issue 24)
    assert outcome == "success" and detail.startswith(f"version {better} (was {current})")


def test_train_promote_leaves_a_worse_version_registered_only(
        cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """`kapcds train --promote` is reviewed like `kapcds promote`: a worse new version stays
    a candidate, and the command says how to promote it deliberately."""
    registry, current, _, _ = _versions()
    trained: list[str] = []

    def train(*args: Any, **kwargs: Any) -> str:
        assert kwargs.get("promote") is False  # the CLI promotes only after the review
        trained.append(registry.register(placeholder_model_set("new"), _card(0.70, 0.55),
                                         "# new\n"))
        return trained[-1]

    monkeypatch.setattr("training.lifecycle.first_run.train_and_register", train)
    done = cli("train", "--registry", str(registry.root), "--promote")
    assert done.returncode == 0, done.stderr
    assert registry.current_version() == current
    assert f"{trained[0]} registered but NOT promoted" in done.stderr
    assert f"kapcds promote {trained[0]} --confirm --reason TEXT" in done.stderr
    engine = make_engine()
    try:
        with session_factory(engine)() as db:
            (entry,) = [e for e in audit.iter_entries(db) if e["action"] == "model_training"]
    finally:
        engine.dispose()
    assert ", not promoted (greys or worsens: " in entry["detail"]


def test_the_lab_service_always_needs_a_confirmation_and_a_reason() -> None:
    """dashboard.services.lab.promotion (what the Compare and promote tab calls): refused
    promotions change nothing and write no audit entry; the reason is audited."""
    from dashboard.services.lab import promotion as lab_promotion
    from records.migrate import upgrade
    from records.security.policy import Actor

    registry, current, _, better = _versions()
    review = lab_promotion.review(better, registry.verify(better), current,
                                  registry.verify(current), None)
    assert not review.needs_reason  # better on every outcome, and still:
    engine = make_engine()
    upgrade(engine)
    actor = Actor("dr_data", "data_scientist")
    try:
        for confirmed, reason in ((False, "a good reason to promote"), (True, ""),
                                  (True, "short")):
            with pytest.raises(lab_promotion.PromotionRefused, match="^Not promoted: "):
                lab_promotion.promote(registry, engine, actor, review, confirmed, reason,
                                      better)
        assert registry.current_version() == current and _promotions() == []
        message = lab_promotion.promote(registry, engine, actor, review, True,
                                        "better on every outcome", f"{better} — test")
    finally:
        engine.dispose()
    assert message.startswith(f"Promoted {better} (test) to current (replacing {current})")
    assert registry.current_version() == better
    ((outcome, detail),) = _promotions()  # then the signed promotion record's (issue 24)
    assert outcome == "success"
    assert detail.startswith(f"{better} (was {current}); reason: better on every outcome")
    frame = lab_promotion.review_frame(review)
    assert list(frame["outcome"]) == [o.label for o in OUTCOMES]
    assert set(frame["change"]) == {""}
