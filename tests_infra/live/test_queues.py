"""메시지 큐 (RabbitMQ): each queue the backend declares exists, has its consumer, and is not piling up: messages
waiting and messages delivered but not acknowledged stay under the spec's limits. Read from the management API
(/api/queues) in the thirdparty host's single probe."""

from viewster_infra.findings import drift, note, require


def _queue(queue, hosts) -> dict:
    queues = require(
        f"{queue.label} (management API /api/queues)",
        hosts.facts(queue.want.role)["rabbitmq"]["queues"],
        "no answer",
        cause=f"{queue.want.role} rabbitmq",  # the broker's label: test_rabbitmq_management_healthy finds it down
    )
    found = queues.get(queue.want.spec.name)
    if found is None:
        drift(queue.label, "expected declared, found no such queue")
    note(
        "queue",
        f"{found['messages_ready']} ready, {found['messages_unacknowledged']} unacknowledged, "
        f"{found['consumers']} consumer(s)",
    )
    return found


def test_rabbitmq_queue_has_consumer(queue, hosts):
    consumers, least = _queue(queue, hosts)["consumers"], queue.want.spec.consumers_min
    if consumers is None or consumers < least:
        drift(queue.label, prop="consumers", expected=f"at least {least}", found=str(consumers))


def test_rabbitmq_queue_messages_ready(queue, hosts, spec):
    ready, most = _queue(queue, hosts)["messages_ready"], spec.live.rabbitmq_messages_ready_max
    if ready is None or ready > most:
        drift(queue.label, prop="messages ready", expected=f"at most {most}", found=str(ready))


def test_rabbitmq_queue_messages_unacknowledged(queue, hosts, spec):
    unacked, most = _queue(queue, hosts)["messages_unacknowledged"], spec.live.rabbitmq_messages_unacked_max
    if unacked is None or unacked > most:
        drift(queue.label, prop="messages unacknowledged", expected=f"at most {most}", found=str(unacked))
