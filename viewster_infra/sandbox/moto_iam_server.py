"""moto's server with its IAM enforcement made to judge requests as AWS does, for proving the CI role's policy
(iam/post-deploy-checks-policy.json), with the sandbox's CloudTrail record (trail.py). Three differences of moto
5.2.5 from AWS are corrected; nothing else changes:

- Signatures: for a GET of a REST service (Route53, Lambda) moto hashes the request's headers as if they were the
  payload, where AWS (and botocore) hash the empty body, so every such call failed with SignatureDoesNotMatch even
  for an administrator (the field notes record it). Here the payload is the body, or the form of a query POST.
- CloudWatch and the Tagging API: moto names actions after the signing name, `monitoring:DescribeAlarms` and
  `tagging:GetResources`; IAM says `cloudwatch:DescribeAlarms` and `tag:GetResources`.
- S3: moto takes GetBucketEncryption and GetPublicAccessBlock for `s3:ListBucket`; IAM's actions are
  `s3:GetEncryptionConfiguration` and `s3:GetBucketPublicAccessBlock`.

    python -m viewster_infra.sandbox.moto_iam_server -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import sys

from botocore.awsrequest import AWSRequest
from moto.iam import access_control
from moto.s3 import responses as s3_responses

from viewster_infra.sandbox.moto_snapshot_server import main


def _request_as_signed(self) -> AWSRequest:
    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    payload = self._body or (self._data if self._method == "POST" else b"")
    request = AWSRequest(method=self._method, url=self._path, data=payload, headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


_moto_init = access_control.IAMRequestBase.__init__


def _init_with_iam_names(self, *args, **kwargs) -> None:
    _moto_init(self, *args, **kwargs)
    service, _, action = self._action.partition(":")
    self._action = f"{IAM_SERVICE_NAMES.get(service, service)}:{action}"


IAM_SERVICE_NAMES = {"monitoring": "cloudwatch", "tagging": "tag"}
access_control.IAMRequestBase._create_aws_request = _request_as_signed
access_control.IAMRequestBase.__init__ = _init_with_iam_names
s3_responses.ACTION_MAP["BUCKET"]["GET"].update(
    {"encryption": "GetEncryptionConfiguration", "publicAccessBlock": "GetBucketPublicAccessBlock"}
)

if __name__ == "__main__":
    main(sys.argv[1:])
