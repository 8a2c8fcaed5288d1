"""Terraform's state of the environment (changes.terraform_state): from its S3 backend with one GetObject, or from a
file next to a Terraform checkout. Only the attributes the checks compare are kept (terraform.py): a state holds
secrets in the clear, and none of them goes further than the read."""

from __future__ import annotations

from pathlib import Path

from viewster_infra import terraform
from viewster_infra.aws.collectors._common import FactsUnreadable, RunOptions
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    location = spec.changes.terraform_state
    if location.startswith("s3://"):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        body = reader.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        with body:
            text = body.read().decode("utf-8", "replace")
    else:
        try:
            text = Path(location).expanduser().read_text()
        except OSError as exc:
            raise FactsUnreadable(f"terraform state {location}: {exc.strerror or exc}") from None
    try:
        return {"location": location, **terraform.read_state(text, location)}
    except terraform.StateError as exc:
        raise FactsUnreadable(str(exc)) from None
