"""The expected state of one environment, as a validated tree.

Every model forbids unknown keys, so a typo in a spec file is an error when pytest starts, not a check that
silently tests nothing. Cross-references (an instance's security group, an alarm's instance) are checked too.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ByteSize, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from viewster_infra import nginx_time

BYTE_SIZE = TypeAdapter(ByteSize)

Key = str  # a spec key, e.g. "backend"; test ids are built from these, never from runtime values


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _cidr(value: str) -> str:
    return str(ipaddress.ip_network(value, strict=True))


class Aws(Strict):
    region: str
    profile: str
    account_id: str | None = Field(default=None, pattern=r"^\d{12}$")


class Subnet(Strict):
    tags: dict[str, str]
    cidr: str
    availability_zone: str

    _check_cidr = field_validator("cidr")(_cidr)


class Vpc(Strict):
    tags: dict[str, str]
    cidr: str
    subnets: dict[Key, Subnet]

    _check_cidr = field_validator("cidr")(_cidr)


class RootVolume(Strict):
    size_gib: int = Field(gt=0)
    type: str


class Instance(Strict):
    tags: dict[str, str] = Field(min_length=1)
    instance_type: str
    state: Literal["pending", "running", "stopping", "stopped"]
    root_volume: RootVolume
    elastic_ip: bool
    subnet: Key
    security_group: Key


class Ec2(Strict):
    instances: dict[Key, Instance] = Field(min_length=1)


class IngressRule(Strict):
    port: int = Field(ge=0, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    from_cidrs: list[str] = []
    from_groups: list[Key] = []

    _check_cidrs = field_validator("from_cidrs")(lambda values: [_cidr(v) for v in values])

    @model_validator(mode="after")
    def _has_a_source(self) -> IngressRule:
        if not self.from_cidrs and not self.from_groups:
            raise ValueError("an ingress rule needs from_cidrs or from_groups")
        return self


class SecurityGroup(Strict):
    name: str
    ingress: list[IngressRule]

    @field_validator("ingress")
    @classmethod
    def _one_rule_per_port(cls, rules: list[IngressRule]) -> list[IngressRule]:
        seen = [(r.protocol, r.port) for r in rules]
        if len(seen) != len(set(seen)):
            raise ValueError("a port appears twice; list all its sources in one rule")
        return rules


class Database(Strict):
    identifier: str
    engine: str
    engine_version: str
    instance_class: str
    status: str
    storage_type: str
    allocated_storage_gib: int = Field(gt=0)
    max_allocated_storage_gib: int = Field(gt=0)
    publicly_accessible: bool
    security_group: Key
    backup_retention_days: int | None = Field(default=None, ge=0)
    min_backup_retention_days: int | None = Field(default=None, ge=0)
    parameter_group: str  # the instance's DB parameter group (rds.tf), whose changes may wait for a reboot
    performance_insights: bool  # where the slow-query check's statements come from

    @model_validator(mode="after")
    def _one_backup_rule(self) -> Database:
        if (self.backup_retention_days is None) == (self.min_backup_retention_days is None):
            raise ValueError("give exactly one of backup_retention_days and min_backup_retention_days")
        return self


class Rds(Strict):
    databases: dict[Key, Database] = Field(min_length=1)


class Transition(Strict):
    days: int = Field(gt=0)
    storage_class: str


class Lifecycle(Strict):
    transitions: list[Transition]
    noncurrent_version_expiration_days: int = Field(gt=0)


class Bucket(Strict):
    name: str
    versioning: Literal["Enabled", "Suspended"]
    encryption: Literal["AES256", "aws:kms", "aws:kms:dsse"]
    block_public_access: bool
    lifecycle: Lifecycle


class S3(Strict):
    buckets: dict[Key, Bucket] = Field(min_length=1)


class Repository(Strict):
    name: str
    scan_on_push: bool
    required_tags: list[str] = []


Severity = Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
SEVERITIES: tuple[str, ...] = Severity.__args__  # lowest first


class Ecr(Strict):
    repositories: dict[Key, Repository] = Field(min_length=1)
    scan_fail_at: Severity = "CRITICAL"  # an image finding at or above this severity fails the deploy


class Dashboard(Strict):
    name: str
    namespaces: list[str]


Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]


class Alarm(Strict):
    name: str
    namespace: str
    metric: str
    instance: Key | None = None
    database: Key | None = None
    statistic: Literal["Average", "Minimum", "Maximum", "Sum", "SampleCount"]
    comparison: Comparison
    threshold: float
    period_seconds: int = Field(gt=0)
    evaluation_periods: int = Field(gt=0)
    notifies: Key
    recovers_instance: bool = False

    @field_validator("threshold", mode="before")
    @classmethod
    def _byte_sizes_as_bytes(cls, value: object) -> object:
        # "5 GiB" is a byte count (FreeStorageSpace); a bare number is taken as it is.
        if isinstance(value, str):
            return float(BYTE_SIZE.validate_python(value))
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Alarm:
        if (self.instance is None) == (self.database is None):
            raise ValueError("an alarm watches exactly one of instance or database")
        if self.recovers_instance and self.instance is None:
            raise ValueError("recovers_instance needs an instance")
        return self


class CloudWatch(Strict):
    dashboards: dict[Key, Dashboard]
    alarms: dict[Key, Alarm]


class Topic(Strict):
    name: str
    lambda_subscribers: list[Key] = []


class Sns(Strict):
    topics: dict[Key, Topic]


class Function(Strict):
    name: str


class Lambda(Strict):
    functions: dict[Key, Function]


class Record(Strict):
    name: str
    type: Literal["A"]
    points_to: Key

    @field_validator("name")
    @classmethod
    def _no_trailing_dot(cls, name: str) -> str:
        return name.rstrip(".").lower()


class Route53(Strict):
    zone: str
    records: dict[Key, Record]

    @field_validator("zone")
    @classmethod
    def _no_trailing_dot(cls, zone: str) -> str:
        return zone.rstrip(".").lower()


class Parameter(Strict):
    name: str
    type: Literal["String", "StringList", "SecureString"]
    # The environment whose Terraform state manages it, when that is not the environment it is checked in (a
    # parameter both environments use lives in one state).
    state_of: str | None = None


class Ssm(Strict):
    parameters: dict[Key, Parameter]


class Recommendation(Strict):
    """What the guide recommends beyond today's state, in checkable form: exactly one of the measures below."""

    text: str
    rds_min_backup_retention_days: int | None = Field(default=None, gt=0)  # every database keeps backups this long
    ecr_keep_last_images: int | None = Field(default=None, gt=0)  # a lifecycle rule keeps at most this many images
    ecr_expire_untagged_after_days: int | None = Field(default=None, gt=0)  # and expires untagged ones this soon

    @model_validator(mode="after")
    def _one_measure(self) -> Recommendation:
        measures = [name for name in type(self).model_fields if name != "text" and getattr(self, name) is not None]
        if len(measures) != 1:
            raise ValueError(
                "give exactly one measure: rds_min_backup_retention_days, ecr_keep_last_images or "
                "ecr_expire_untagged_after_days"
            )
        return self


class Live(Strict):
    """The estate's live condition over a window of CloudWatch data (the guide's queries: the last hour, 300 s)."""

    window_minutes: int = Field(default=60, gt=0)
    period_seconds: int = Field(default=300, gt=0)
    ec2_cpu_average_max_percent: float = Field(gt=0, le=100)
    ec2_cpu_credit_balance_min: float = Field(ge=0)
    rds_cpu_average_max_percent: float = Field(gt=0, le=100)
    rds_free_storage_min: float = Field(gt=0)  # bytes; written "5 GiB"
    rds_connections_max: int = Field(gt=0)
    insufficient_data_fails: bool = False  # an alarm in INSUFFICIENT_DATA: reported always; failing if true
    log_window_minutes: int = Field(default=15, gt=0)  # how far back host logs are read for errors
    redis_memory_max_ratio: float = Field(gt=0, le=1)  # used_memory / maxmemory
    redis_evicted_keys_max: int = Field(ge=0)
    backend_connections_max: int = Field(gt=0)  # established connections to the backend's port (WebSocket clients)
    container_cpu_max_percent: float = Field(gt=0)  # docker stats CPU %: 100 is one whole core
    container_memory_max: float = Field(gt=0)  # bytes; written "1 GiB"
    rabbitmq_messages_ready_max: int = Field(ge=0)  # per queue: waiting for a consumer
    rabbitmq_messages_unacked_max: int = Field(ge=0)  # per queue: delivered, not yet acknowledged
    # The database's own live state over window_minutes (Performance Insights, RDS events, maintenance):
    slow_statement_mean_max_ms: float = Field(gt=0)  # a statement whose mean time per call is above this is slow
    slow_statement_load_share_max: float = Field(gt=0, le=1)  # ... or whose share of the database's load is above
    slow_statement_share_min_load: float = Field(ge=0)  # average active sessions under which no share counts
    rds_event_categories_failing: list[str]  # RDS event categories that fail; the others are notes
    rds_maintenance_notice_days: int = Field(ge=0)  # maintenance due within this many days is a finding

    @field_validator("rds_free_storage_min", "container_memory_max", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        return float(BYTE_SIZE.validate_python(value)) if isinstance(value, str) else value


class Cost(Strict):
    """비용 조회: month-to-date unblended cost per AWS service (as Cost Explorer names them) against a budget."""

    region: str = "us-east-1"  # Cost Explorer answers only there
    environment_tag: str = "Environment"  # a cost allocation tag: the environment's share of the account
    monthly_budgets_usd: dict[str, float] = Field(min_length=1)


class Container(Strict):
    ecr_repository: Key | None = None  # the image comes from this ecr.repositories entry...
    image: str | None = None  # ...or is this public image
    ports: list[str] = Field(min_length=1)  # as `docker ps` shows them: "0.0.0.0:8080->8080/tcp"
    errors_logged_max: int | None = Field(default=None, ge=0)  # error lines in its log over live.log_window_minutes
    # what makes a log line an error line: any of these words, whole and in any case (ERROR, Critical, fatal)
    error_words: list[str] = Field(default=["error"], min_length=1)

    @model_validator(mode="after")
    def _one_image_source(self) -> Container:
        if (self.ecr_repository is None) == (self.image is None):
            raise ValueError("give exactly one of ecr_repository and image")
        return self


class Site(Strict):
    proxy_pass: str
    websocket: bool = False
    proxy_read_timeout: float | None = None  # seconds; written in nginx's units ("86400s", "1d")

    @field_validator("proxy_read_timeout", mode="before")
    @classmethod
    def _nginx_time(cls, value: object) -> object:
        return None if value is None else nginx_time.seconds(value)


class Nginx(Strict):
    listen_ports: list[int]
    # error.log entries at this level or more severe are findings (nginx's levels: debug ... warn, error, crit,
    # alert, emerg)
    error_log_min_level: Literal["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"] = "crit"
    sites: dict[Key, Site]  # route53.records keys


class Reach(Strict):
    port: int
    role: Key | None = None
    database: Key | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Reach:
        if (self.role is None) == (self.database is None):
            raise ValueError("give exactly one of role and database")
        return self

    @property
    def key(self) -> str:
        return f"{self.role or self.database}-{self.port}"


class Redis(Strict):
    container: str
    major_version: int


class Queue(Strict):
    name: str
    consumers_min: int = Field(default=1, ge=0)


class RabbitMq(Strict):
    container: str
    major_version: int
    ports: list[int]
    queues: dict[Key, Queue] = {}  # the queues the backend declares and consumes
    # Who the probe asks the management API as. RabbitMQ's own default is guest/guest, which a default broker
    # accepts only from localhost (Docker's port publishing is not localhost): a team sets its own user, whose
    # password the suite reads from SSM (a SecureString, like the SSH key; never printed).
    management_user: str = "guest"
    management_password_parameter: Key | None = None  # ssm.parameters key; None: the password is "guest"


class Role(Strict):
    containers: dict[str, Container] = {}
    nginx: Nginx | None = None
    reaches: list[Reach] = []
    redis: Redis | None = None
    rabbitmq: RabbitMq | None = None


class Hosts(Strict):
    ssh_user: str
    ssh_key_parameter: Key  # ssm.parameters key of the hosts' private key (--ssh-key-from-ssm)
    use_sudo: bool
    root_filesystem_max_used_percent: float = Field(gt=0, le=100)
    roles: dict[Key, Role]


class Endpoint(Strict):
    record: Key
    path: str
    status: int | None = None


class Endpoints(Strict):
    health: Endpoint
    websocket: Endpoint
    https_redirect: list[Key]
    certificate_min_days_left: int = Field(ge=0)


class Changes(Strict):
    """How the estate may change (Terraform 참조, 배포 방식): through Terraform and CI only."""

    # Where the environment's Terraform state lives: "s3://bucket/key" (an S3 backend) or a file path (next to a
    # Terraform checkout).
    terraform_state: str
    # Who may change the estate: a name -> the IAM ARN of the principal, with * for any part ("arn:aws:iam::*:role/x").
    # An assumed role's session is judged by its role.
    principals: dict[Key, str] = Field(min_length=1)
    image_pusher: Key  # the principal whose pushes are deploys (GitHub Actions)
    # CloudTrail is read back to the previous report of the environment, and never further than this.
    window_hours_max: int = Field(default=24, gt=0, le=90 * 24)
    global_region: str = "us-east-1"  # where IAM's, STS's and Route53's events are kept
    # The environment's resources by name (fnmatch patterns on bucket, repository, alarm, topic, function and record
    # names), and names that match but are another environment's.
    names: list[str] = Field(min_length=1)
    names_excluded: list[str] = []
    parameters_path: str = Field(pattern=r"^/")  # the environment's SSM parameters are under this path

    @field_validator("terraform_state")
    @classmethod
    def _state_location(cls, value: str) -> str:
        if value.startswith("s3://") and (len(value[5:].split("/", 1)) < 2 or not value[5:].split("/", 1)[1]):
            raise ValueError("an S3 state location reads s3://bucket/key")
        return value

    @model_validator(mode="after")
    def _pusher_is_a_principal(self) -> Changes:
        if self.image_pusher not in self.principals:
            raise ValueError(f"image_pusher names {self.image_pusher!r}, which is not one of {sorted(self.principals)}")
        return self


class EnvironmentSpec(Strict):
    """One environment's whole expected state (common.yaml merged with <env>.yaml)."""

    aws: Aws
    vpc: Vpc
    ec2: Ec2
    security_groups: dict[Key, SecurityGroup]
    rds: Rds
    s3: S3
    ecr: Ecr
    cloudwatch: CloudWatch
    sns: Sns
    lambda_: Lambda = Field(alias="lambda")
    route53: Route53
    ssm: Ssm
    hosts: Hosts
    endpoints: Endpoints
    live: Live
    cost: Cost
    changes: Changes
    recommendations: dict[Key, Recommendation] = {}
    # control id (specs/controls.yaml) -> this environment's severity for it, where it differs from the registry's
    severity_overrides: dict[str, Literal["critical", "high", "medium", "low"]] = {}

    @model_validator(mode="after")
    def _references_resolve(self) -> EnvironmentSpec:
        def need(where: str, key: str, known: dict) -> None:
            if key not in known:
                raise ValueError(f"{where} names {key!r}, which is not one of {sorted(known)}")

        for name, inst in self.ec2.instances.items():
            need(f"ec2.instances.{name}.subnet", inst.subnet, self.vpc.subnets)
            need(f"ec2.instances.{name}.security_group", inst.security_group, self.security_groups)
        for name, group in self.security_groups.items():
            for rule in group.ingress:
                for source in rule.from_groups:
                    need(f"security_groups.{name}.ingress[{rule.port}]", source, self.security_groups)
        for name, db in self.rds.databases.items():
            need(f"rds.databases.{name}.security_group", db.security_group, self.security_groups)
        for name, alarm in self.cloudwatch.alarms.items():
            need(f"cloudwatch.alarms.{name}.notifies", alarm.notifies, self.sns.topics)
            if alarm.instance is not None:
                need(f"cloudwatch.alarms.{name}.instance", alarm.instance, self.ec2.instances)
            if alarm.database is not None:
                need(f"cloudwatch.alarms.{name}.database", alarm.database, self.rds.databases)
        for name, topic in self.sns.topics.items():
            for fn in topic.lambda_subscribers:
                need(f"sns.topics.{name}.lambda_subscribers", fn, self.lambda_.functions)
        for name, record in self.route53.records.items():
            need(f"route53.records.{name}.points_to", record.points_to, self.ec2.instances)
        need("hosts.ssh_key_parameter", self.hosts.ssh_key_parameter, self.ssm.parameters)
        for role_key, role in self.hosts.roles.items():
            need("hosts.roles", role_key, self.ec2.instances)
            for name, container in role.containers.items():
                if container.ecr_repository is not None:
                    need(f"hosts.roles.{role_key}.containers.{name}", container.ecr_repository, self.ecr.repositories)
            for site in role.nginx.sites if role.nginx else {}:
                need(f"hosts.roles.{role_key}.nginx.sites", site, self.route53.records)
            for reach in role.reaches:
                if reach.role is not None:
                    need(f"hosts.roles.{role_key}.reaches", reach.role, self.ec2.instances)
                else:
                    need(f"hosts.roles.{role_key}.reaches", reach.database, self.rds.databases)
            for service in (role.redis, role.rabbitmq):
                if service is not None:
                    need(f"hosts.roles.{role_key}", service.container, role.containers)
            if role.rabbitmq is not None and role.rabbitmq.management_password_parameter is not None:
                where = f"hosts.roles.{role_key}.rabbitmq.management_password_parameter"
                need(where, role.rabbitmq.management_password_parameter, self.ssm.parameters)
        for record in [self.endpoints.health.record, self.endpoints.websocket.record, *self.endpoints.https_redirect]:
            need("endpoints", record, self.route53.records)
        return self
