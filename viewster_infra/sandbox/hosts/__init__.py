"""The host half of the sandbox: each EC2 role of an environment as a network namespace on this machine.

Each host has an address in 198.18.0.0/15 on a bridge of its environment and no default route, its own hostname,
process table and mounts (/run, /var/log, /tmp, service state), and real software from Debian's packages: sshd,
nginx, redis, rabbitmq. PostgreSQL stands in for the RDS endpoint in a namespace of its own, and dnsmasq, in
another, is the resolver a client would ask: it serves the sandbox's Route53 zone and nothing else.

Each role's host runs Debian's Docker Engine (docker.io: its own dockerd, containerd, data and socket, its iptables
rules inside its namespace), which pulls the containers' images from the sandbox's registry (Debian's
docker-registry, in a namespace of its own, answering as the environment's ECR registry and as a Docker Hub mirror)
and runs them as a deploy does. The suite logs in as the spec's SSH user, an ordinary user in the docker group
with sudo for exactly the two nginx reads.
"""
