"""`kapcds promote`: the same per-outcome review the model lab shows
(``models.store.promotion_review``), as text. A promotion that greys an outcome or makes one worse
is refused unless ``--confirm`` and ``--reason TEXT`` are given; the reason goes into the
audit entry (issue 23, defect 7)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kapcds.common import operator, promotion_audit, record_cli, registry
from models.store.promotion_review import PromotionReview, review_promotion
from models.store.registry import Registry

COLUMNS = ("outcome", "current AUC (95 % CI)", "candidate AUC (95 % CI)",
           "current slope / intercept", "candidate slope / intercept", "gate now",
           "gate after", "change")


def review_text(review: PromotionReview) -> list[str]:
    """The comparison as aligned columns, then the warnings naming each outcome."""
    rows = [{k: row[k] for k in COLUMNS} for row in (c.row() for c in review.changes)]
    widths = {k: max([len(k), *(len(r[k]) for r in rows)]) for k in COLUMNS}
    lines = [f"{review.candidate} (candidate) against {review.current} (current); held-out "
             "test AUC of each version on its own test patients:",
             "  ".join(k.ljust(widths[k]) for k in COLUMNS).rstrip()]
    lines += ["  ".join(r[k].ljust(widths[k]) for k in COLUMNS).rstrip() for r in rows]
    warnings = review.warnings()
    lines += [f"WARNING: {w}" for w in warnings] or [
        "No outcome would become greyed or get worse."]
    return lines


def promote(args: argparse.Namespace) -> int:
    """Verify, review against the current version, refuse or promote with a signed
    promotion record whose audit entry is committed first (issue 24)."""
    models = registry(args)
    try:
        card = models.verify(args.version)
        current = models.current_version(strict=False)
        reason = " ".join((args.reason or "").split()) or "promoted with kapcds promote"
        lead = f"version {args.version}" + (f"; reason: {reason}" if args.reason else "")
        if current and current != args.version:
            review = review_promotion(args.version, card, current, models.verify(current))
            sys.stdout.write("\n".join(review_text(review)) + "\n")
            problem = review.refusal(args.reason, args.confirm)
            if problem:
                raise ValueError(f"not promoted: {problem} (--confirm --reason TEXT)")
            lead = "version " + review.audit_detail(args.reason)
        models.promote(args.version, by=operator().username, reason=reason,
                       audit=promotion_audit(lead))
    except Exception as error:
        record_cli("model_promotion", "model", outcome="failure",
                   detail=f"version {args.version}: {error}"[:2000])
        raise
    sys.stdout.write(f"current model version: {args.version}\n")
    return 0


def promote_trained(registry_dir: Path, version: str) -> str:
    """`kapcds train --promote`: promote the new version unless it greys or worsens an
    outcome of the current one; then it stays registered and the review is printed with
    the command that promotes it deliberately. Returns the audit note's ending."""
    models = Registry(registry_dir)
    current = models.current_version(strict=False)
    if current and current != version:
        review = review_promotion(version, models.verify(version), current,
                                  models.verify(current))
        if review.needs_reason:
            sys.stderr.write("\n".join(review_text(review)) + "\n")
            sys.stderr.write(f"{version} registered but NOT promoted: it greys or worsens "
                             f"outcomes of {current}. To promote it anyway: kapcds promote "
                             f"{version} --confirm --reason TEXT\n")
            return f", not promoted (greys or worsens: {', '.join(review.worse + review.greyed)})"
    models.promote(version, by=operator().username, reason="kapcds train --promote",
                   audit=promotion_audit())
    return ", promoted" + (f" (was {current})" if current and current != version else "")
