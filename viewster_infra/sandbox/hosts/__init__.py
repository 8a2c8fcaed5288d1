"""The host half of the sandbox: each EC2 role of an environment as a network namespace on this machine.

Each host has an address in 198.18.0.0/15 on a bridge of its environment and no default route, its own hostname,
process table and mounts (/run, /var/log, /tmp, service state), and real software from Debian's packages: sshd,
nginx, redis, rabbitmq. PostgreSQL stands in for the RDS endpoint in a namespace of its own, and dnsmasq, in
another, is the resolver a client would ask: it serves the sandbox's Route53 zone and nothing else.

No container engine can run on these machines. The containers are real processes started by a `docker` stand-in
(docker_standin.py) that answers `docker ps`, `inspect`, `logs`, `exec`, `stop`, `start`, `rm`, `rename` and `run`
from those processes: a container is "running" exactly while its process lives. Like Docker's CLI, `docker` is a
client of a daemon (docker_daemon.py), so that a call does not start Python.
"""
