"""The guide's recommendations (비용 최적화 팁): followed, each check passes; not followed, it is reported as advisory
and fails nothing, unless --strict-recommendations; unreadable, it fails like any check."""

import json

from tests_unit.harness import proves

REPOSITORIES = ("viewster-staging-frontend", "viewster-staging-admin-frontend", "viewster-staging-backend")
REC_CHECKS = {
    "test_recommendation_rds_backup_retention[staging-rds-staging-backup-at-least-1-day-database]": (
        "rds viewster-staging-database: backup retention (days) expected at least 1, found 0"
    ),
    **{
        f"test_recommendation_ecr_keeps_last_images[staging-ecr-lifecycle-keep-last-10-{key}]": (
            f"ecr repository viewster-staging-{key}: images kept by lifecycle rule expected at most 10, found no such rule"
        )
        for key in ("frontend", "admin-frontend", "backend")
    },
    **{
        f"test_recommendation_ecr_expires_untagged[staging-ecr-expire-untagged-after-7-days-{key}]": (
            f"ecr repository viewster-staging-{key}: untagged images expire after (days) expected at most 7, "
            "found no such rule"
        )
        for key in ("frontend", "admin-frontend", "backend")
    },
}


def lifecycle_policy(keep: int, untagged_days: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "untagged images go after a while",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": "keep the most recent images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                },
            ]
        }
    )


def follow_every_recommendation(staging, keep: int = 10, untagged_days: int = 7) -> None:
    def backups_for_one_day(document: dict) -> None:
        document["rds"]["databases"]["database"]["backup_retention_days"] = 1

    staging.reset(drift=backups_for_one_day)
    for repository in REPOSITORIES:
        staging.client("ecr").put_lifecycle_policy(
            repositoryName=repository, lifecyclePolicyText=lifecycle_policy(keep, untagged_days)
        )


@proves(
    "test_recommendation_rds_backup_retention",
    "test_recommendation_ecr_keeps_last_images",
    "test_recommendation_ecr_expires_untagged",
)
def test_followed_they_pass_and_not_followed_they_are_advice(staging):
    advice = staging.run("-k", "recommendation")
    assert advice.exit_code == 0 and advice.failures == {}
    assert {name: advice.outcomes[name] for name in REC_CHECKS} == dict.fromkeys(REC_CHECKS, "skipped")  # advisory
    assert {name: advice.messages[name] for name in REC_CHECKS} == REC_CHECKS

    strict = staging.run("-k", "recommendation", "--strict-recommendations")
    assert strict.exit_code == 1 and strict.failures == REC_CHECKS

    follow_every_recommendation(staging)
    followed = staging.run("-k", "recommendation", "--strict-recommendations")
    assert followed.exit_code == 0
    assert set(followed.outcomes.values()) == {"passed"} and set(followed.outcomes) == set(REC_CHECKS)


def test_a_looser_policy_is_named_by_its_numbers(staging):
    follow_every_recommendation(staging, keep=30, untagged_days=14)
    failures = staging.run("-k", "ecr_keeps or ecr_expires", "--strict-recommendations").failures
    assert failures["test_recommendation_ecr_keeps_last_images[staging-ecr-lifecycle-keep-last-10-backend]"] == (
        "ecr repository viewster-staging-backend: images kept by lifecycle rule expected at most 10, found 30"
    )
    assert failures["test_recommendation_ecr_expires_untagged[staging-ecr-expire-untagged-after-7-days-backend]"] == (
        "ecr repository viewster-staging-backend: untagged images expire after (days) expected at most 7, found 14"
    )
