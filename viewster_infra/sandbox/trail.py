"""CloudTrail for the sandbox: moto records no API activity and has no LookupEvents, so the sandbox's moto front does
what CloudTrail does for the calls that reach it.

- Every write (any operation that is not Describe*/List*/Get*/Head*/Lookup*) is recorded as a management event:
  who made it (the access key resolved through moto's IAM and STS: an IAM user, an assumed role with its session
  issuer, or the account's root), the user agent, the source address, the region (IAM, STS and Route53 events live
  in us-east-1, as in AWS), the resources it names and, when it failed, the error code.
- `cloudtrail:LookupEvents` answers from those events in AWS's response shape: one lookup attribute, a time range,
  newest first, at most 50 a page with a NextToken. It is a method of moto's own CloudTrail responses, so moto's IAM
  judges it like every other action.

What AWS would take from elsewhere, the sandbox takes from the request:
- the source address from `X-Forwarded-For` when a test acts as someone elsewhere (every caller here is 127.0.0.1);
- a console session from the user agent (`console.*.amazonaws.com`, `signin.amazonaws.com`, `AWS Internal`), where
  AWS knows it from the credentials and sets `sessionCredentialFromConsole`.

The events live in moto's CloudTrail backend of their account and region, so a snapshot restore puts them back as
they were with everything else. Request parameters are kept for identifiers only (never a value or a password).
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import uuid
from datetime import UTC, datetime

from moto.cloudtrail.models import cloudtrail_backends
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import Request, determine_request_protocol
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup", "BatchGet", "Search", "AssumeRole")
# Data events: CloudTrail logs them only to a trail that asks for them, and LookupEvents never shows them.
DATA_EVENTS = {
    "PutObject",
    "DeleteObject",
    "DeleteObjects",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "PutObjectAcl",
    "PutObjectTagging",
    "Invoke",
    "PutMetricData",
}
PAGE_SIZE = 50  # LookupEvents' MaxResults: at most 50
GLOBAL_SERVICES = {"iam", "sts", "route53"}  # their events are in us-east-1
GLOBAL_REGION = "us-east-1"
CONSOLE_AGENTS = re.compile(r"^(console\.([a-z0-9-]+\.)?amazonaws\.com|signin\.amazonaws\.com|AWS Internal)")
# signing name (the credential scope's service) -> botocore's service name, for the services the estate uses
SERVICES = {
    "ec2": "ec2",
    "rds": "rds",
    "s3": "s3",
    "ecr": "ecr",
    "monitoring": "cloudwatch",
    "sns": "sns",
    "lambda": "lambda",
    "route53": "route53",
    "ssm": "ssm",
    "iam": "iam",
    "sts": "sts",
    "cloudtrail": "cloudtrail",
    "tagging": "resourcegroupstaggingapi",
}
EVENT_SOURCE = {"cloudwatch": "monitoring", "resourcegroupstaggingapi": "tagging"}
# Request parameters that name a resource: (service or "*", parameter) -> CloudTrail's resource type.
RESOURCE_PARAMETERS = {
    ("ec2", "InstanceId"): "AWS::EC2::Instance",
    ("ec2", "InstanceIds"): "AWS::EC2::Instance",
    ("ec2", "GroupId"): "AWS::EC2::SecurityGroup",
    ("ec2", "GroupIds"): "AWS::EC2::SecurityGroup",
    ("ec2", "VpcId"): "AWS::EC2::VPC",
    ("ec2", "SubnetId"): "AWS::EC2::Subnet",
    ("ec2", "AllocationId"): "AWS::EC2::EIP",
    ("ec2", "NetworkInterfaceId"): "AWS::EC2::NetworkInterface",
    ("ec2", "Resources"): "AWS::EC2::Resource",  # CreateTags
    ("rds", "DBInstanceIdentifier"): "AWS::RDS::DBInstance",
    ("s3", "Bucket"): "AWS::S3::Bucket",
    ("ecr", "repositoryName"): "AWS::ECR::Repository",
    ("cloudwatch", "AlarmName"): "AWS::CloudWatch::Alarm",
    ("cloudwatch", "AlarmNames"): "AWS::CloudWatch::Alarm",
    ("cloudwatch", "DashboardName"): "AWS::CloudWatch::Dashboard",
    ("sns", "TopicArn"): "AWS::SNS::Topic",
    ("sns", "Name"): "AWS::SNS::Topic",
    ("lambda", "FunctionName"): "AWS::Lambda::Function",
    ("route53", "HostedZoneId"): "AWS::Route53::HostedZone",
    ("route53", "Id"): "AWS::Route53::HostedZone",
    ("ssm", "Name"): "AWS::SSM::Parameter",
    ("iam", "RoleName"): "AWS::IAM::Role",
    ("iam", "UserName"): "AWS::IAM::User",
}
# What an EC2 create answers with: the new resource's id (the other services' creates name it in the request).
CREATED = {
    "RunInstances": ("AWS::EC2::Instance", re.compile(r"<instanceId>(i-[0-9a-f]+)</instanceId>")),
    "CreateSecurityGroup": ("AWS::EC2::SecurityGroup", re.compile(r"<groupId>(sg-[0-9a-f]+)</groupId>")),
    "CreateVpc": ("AWS::EC2::VPC", re.compile(r"<vpcId>(vpc-[0-9a-f]+)</vpcId>")),
    "CreateSubnet": ("AWS::EC2::Subnet", re.compile(r"<subnetId>(subnet-[0-9a-f]+)</subnetId>")),
    "AllocateAddress": ("AWS::EC2::EIP", re.compile(r"<allocationId>(eipalloc-[0-9a-f]+)</allocationId>")),
    "CreateNetworkInterface": (
        "AWS::EC2::NetworkInterface",
        re.compile(r"<networkInterfaceId>(eni-[0-9a-f]+)</networkInterfaceId>"),
    ),
}
_lock = threading.Lock()


def is_write(operation: str) -> bool:
    """A management event that changes something (CloudTrail's readOnly false)."""
    return not operation.startswith(READ_PREFIXES) and operation not in DATA_EVENTS


class Recorder:
    """WSGI: hands every request to moto, and records the writes among them as CloudTrail would."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        call = _Call.of(environ)
        if call is None or not is_write(call.operation):
            return self.app(environ, start_response)
        answered: dict = {}

        def remember(status, headers, exc_info=None):
            answered["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, remember))
        try:
            call.record(answered.get("status", 500), body)
        except Exception as exc:  # recording must never break the call it records
            print(f"trail: could not record {call.service}:{call.operation}: {exc!r}", flush=True)
        return [body]


class _Call:
    """One signed request: who, what, where, with which parameters."""

    def __init__(self, environ, service: str, region: str, access_key: str, body: bytes) -> None:
        self.environ = environ
        self.service = service
        self.region = GLOBAL_REGION if service in GLOBAL_SERVICES else region
        self.access_key = access_key
        self.request = Request(dict(environ, **{"wsgi.input": io.BytesIO(body)}))
        self.body = body
        self.operation, self.uri_params = self._operation()

    @classmethod
    def of(cls, environ) -> _Call | None:
        scope = re.search(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None or scope.group(3) not in SERVICES:
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        try:
            return cls(environ, SERVICES[scope.group(3)], scope.group(2), scope.group(1), body)
        except Exception:  # an operation no botocore model names: moto answers it as it does
            return None

    def _operation(self) -> tuple[str, dict]:
        target = self.environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.rsplit(".", 1)[-1], {}
        cbor = re.match(r"^/service/[^/]+/operation/([A-Za-z]+)$", self.environ.get("PATH_INFO", ""))
        if cbor:
            return cbor.group(1), {}
        action = self.request.values.get("Action")
        if action:
            return action, {}
        operation, uri_params = get_service_router(self.service).match(self.request)
        return operation.name, dict(uri_params)

    def _parameters(self) -> dict:
        model = get_service_model(self.service)
        try:
            protocol = determine_request_protocol(model, self.request.content_type)
            parser = PROTOCOL_PARSERS[protocol](model.operation_model(self.operation))
            parsed = parser.parse(
                {
                    "method": self.request.method,
                    "values": self.request.values,
                    "headers": self.request.headers,
                    "body": self.body,
                    "url_path": self.request.path,
                    "url_params": self.uri_params,
                }
            )
            return dict(parsed)
        except Exception:
            return dict(self.uri_params)

    def _resources(self, parameters: dict, status: int, answer: bytes) -> list[dict]:
        found = []  # what a create made first, as CloudTrail lists it; then what the request named
        if self.service == "ec2" and status < 300 and self.operation in CREATED:
            kind, pattern = CREATED[self.operation]
            found += [
                {"ResourceType": kind, "ResourceName": v} for v in pattern.findall(answer.decode("utf-8", "replace"))
            ]
        for (service, name), kind in RESOURCE_PARAMETERS.items():
            if service != self.service or name not in parameters:
                continue
            values = parameters[name] if isinstance(parameters[name], list) else [parameters[name]]
            found += [{"ResourceType": kind, "ResourceName": str(v)} for v in values if isinstance(v, (str, int))]
        unique = {(r["ResourceType"], r["ResourceName"]): r for r in found}
        return list(unique.values())

    def record(self, status: int, answer: bytes) -> None:
        account = get_account_id_from(self.access_key)
        parameters = self._parameters()
        resources = self._resources(parameters, status, answer)
        agent = self.environ.get("HTTP_USER_AGENT", "")
        now = datetime.now(UTC)
        identity = _identity(account, self.access_key, now)
        event = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": f"{EVENT_SOURCE.get(self.service, self.service)}.amazonaws.com",
            "eventName": self.operation,
            "awsRegion": self.region,
            "sourceIPAddress": self.environ.get("HTTP_X_FORWARDED_FOR") or self.environ.get("REMOTE_ADDR"),
            "userAgent": agent,
            "requestParameters": _request_parameters(self.service, self.operation, parameters, resources),
            "responseElements": _response_elements(self.service, self.operation, status, answer),
            "requestID": str(uuid.uuid4()),
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
        }
        if status >= 400:
            event["errorCode"] = _error_code(answer) or f"HTTP{status}"
        if CONSOLE_AGENTS.match(agent):
            event["sessionCredentialFromConsole"] = "true"
        looked_up = {
            "EventId": event["eventID"],
            "EventName": self.operation,
            "ReadOnly": "false",
            "AccessKeyId": self.access_key,
            "EventTime": now.timestamp(),
            "EventSource": event["eventSource"],
            "Username": _username(identity),
            "Resources": resources,
            "CloudTrailEvent": json.dumps(event),
        }
        backend = cloudtrail_backends[account][self.region]
        with _lock:
            backend.__dict__.setdefault("recorded_events", []).append(looked_up)


def _identity(account: str, access_key: str, now: datetime) -> dict:
    """userIdentity as CloudTrail writes it, for the key's owner in moto's IAM."""
    role = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    if role is not None:
        role_name = role.role_arn.split("/")[-1]
        return {
            "type": "AssumedRole",
            "principalId": role.user_id,
            "arn": role.arn,
            "accountId": account,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role.user_id.split(":")[0],
                    "arn": role.role_arn,
                    "accountId": account,
                    "userName": role_name,
                },
                "attributes": {"creationDate": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "mfaAuthenticated": "false"},
            },
        }
    user = iam_backends[account]["aws"].get_user_from_access_key_id(access_key)
    if user is not None:
        return {
            "type": "IAMUser",
            "principalId": user.id,
            "arn": user.arn,
            "accountId": account,
            "accessKeyId": access_key,
            "userName": user.name,
        }
    return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account}


def _request_parameters(service: str, operation: str, parameters: dict, resources: list[dict]) -> dict | None:
    """What CloudTrail keeps of the request, for identifiers only (never a value): the resources it names, and for
    a Route53 change the names and types it changes, as CloudTrail writes them (camelCase)."""
    kept: dict = {r["ResourceType"]: r["ResourceName"] for r in resources}
    if (service, operation) == ("route53", "ChangeResourceRecordSets"):
        changes = (parameters.get("ChangeBatch") or {}).get("Changes") or []
        kept["changeBatch"] = {
            "changes": [
                {
                    "action": c.get("Action"),
                    "resourceRecordSet": {
                        "name": (c.get("ResourceRecordSet") or {}).get("Name"),
                        "type": (c.get("ResourceRecordSet") or {}).get("Type"),
                    },
                }
                for c in changes
            ]
        }
    return kept or None


def _username(identity: dict) -> str:
    if identity["type"] == "AssumedRole":
        return identity["arn"].rsplit("/", 1)[-1]  # the session's name
    return identity.get("userName", "root")


def _response_elements(service: str, operation: str, status: int, answer: bytes) -> dict | None:
    """What CloudTrail keeps of an answer that the suite reads: the pushed image's digest."""
    if status >= 300 or (service, operation) != ("ecr", "PutImage"):
        return None
    image = json.loads(answer)["image"]
    return {"image": {"repositoryName": image["repositoryName"], "imageId": image["imageId"]}}


def _error_code(answer: bytes) -> str | None:
    text = answer.decode("utf-8", "replace")
    found = re.search(r"<Code>([^<]+)</Code>", text) or re.search(r'"__type"\s*:\s*"(?:[^"#]*#)?([^"]+)"', text)
    return found.group(1) if found else None


def lookup_events(self: CloudTrailResponse) -> str:
    """cloudtrail:LookupEvents over the recorded events of this account and region (moto calls it by name)."""
    events = self.cloudtrail_backend.__dict__.get("recorded_events", [])
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        return self._invalid("InvalidLookupAttributesException", "Only one lookup attribute is allowed.")
    start, end = self._get_param("StartTime"), self._get_param("EndTime")
    page_size = min(int(self._get_param("MaxResults") or PAGE_SIZE), PAGE_SIZE)
    matching = [e for e in events if _in_range(e, start, end) and all(_matches(e, a) for a in attributes)]
    matching.sort(key=lambda e: e["EventTime"], reverse=True)
    token = self._get_param("NextToken")
    offset = int(base64.b64decode(token)) if token else 0
    page = matching[offset : offset + page_size]
    answer: dict = {"Events": page}
    if offset + page_size < len(matching):
        answer["NextToken"] = base64.b64encode(str(offset + page_size).encode()).decode()
    return json.dumps(answer)


def _invalid(self: CloudTrailResponse, code: str, message: str):
    return json.dumps({"__type": code, "message": message}), {"status": 400}


def _in_range(event: dict, start, end) -> bool:
    at = event["EventTime"]
    return (start is None or at >= float(start)) and (end is None or at <= float(end))


def _matches(event: dict, attribute: dict) -> bool:
    key, value = attribute["AttributeKey"], attribute["AttributeValue"]
    if key == "ResourceName":
        return any(r["ResourceName"] == value for r in event["Resources"])
    if key == "ResourceType":
        return any(r["ResourceType"] == value for r in event["Resources"])
    return str(event.get(key)) == value


CloudTrailResponse.lookup_events = lookup_events
CloudTrailResponse._invalid = _invalid
