"""비용 최적화 팁: what the guide recommends beyond today's state. A recommendation not followed is reported in its own
section and fails nothing, unless the run is --strict-recommendations."""

import pytest

from viewster_infra.findings import drift, require


@pytest.mark.aws("rds")
def test_recommendation_rds_backup_retention(recommended_backup, aws):
    recommendation, _ = recommended_backup.want
    database = aws.facts("rds")["databases"][recommended_backup.key]
    found = require(recommended_backup.label, database, "no such database")["backup_retention_days"]
    minimum = recommendation.rds_min_backup_retention_days
    if found < minimum:
        drift(
            recommended_backup.label, prop="backup retention (days)", expected=f"at least {minimum}", found=str(found)
        )


@pytest.mark.aws("ecr")
def test_recommendation_ecr_keeps_last_images(recommended_image_count, aws):
    recommendation, _ = recommended_image_count.want
    rules = _lifecycle_rules(recommended_image_count, aws)
    counts = [r["countNumber"] for r in rules if r.get("countType") == "imageCountMoreThan" and r["action"] == "expire"]
    limit, kept = recommendation.ecr_keep_last_images, min(counts, default=None)
    if kept is None or kept > limit:
        found = kept if kept is not None else "no such rule"
        drift(
            recommended_image_count.label,
            prop="images kept by lifecycle rule",
            expected=f"at most {limit}",
            found=str(found),
        )


@pytest.mark.aws("ecr")
def test_recommendation_ecr_expires_untagged(recommended_untagged_expiry, aws):
    recommendation, _ = recommended_untagged_expiry.want
    rules = _lifecycle_rules(recommended_untagged_expiry, aws)
    days = [
        r["countNumber"]
        for r in rules
        if r.get("tagStatus") == "untagged" and r.get("countType") == "sinceImagePushed" and r["action"] == "expire"
    ]
    limit, soonest = recommendation.ecr_expire_untagged_after_days, min(days, default=None)
    if soonest is None or soonest > limit:
        found = soonest if soonest is not None else "no such rule"
        drift(
            recommended_untagged_expiry.label,
            prop="untagged images expire after (days)",
            expected=f"at most {limit}",
            found=str(found),
        )


def _lifecycle_rules(entry, aws) -> list[dict]:
    repository = require(entry.label, aws.facts("ecr")["repositories"][entry.key], "no such repository")
    return repository["lifecycle_rules"] or []
