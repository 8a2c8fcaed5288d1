"""A local replica of one environment: moto in server mode on 127.0.0.1, seeded from the spec to be compliant.

`python -m viewster_infra.sandbox up|down|status --env=staging`. Nothing here is used against real AWS: the
seeding clients are pointed at the sandbox's own loopback endpoint only.
"""
