"""Experts on other machines: workers serve them over an MQTT broker, the runtime dispatches jobs to them.

`Worker` (what `agentos worker` runs), `Dispatcher` and `RemoteExpert` (the runtime's side), the
messages and topics they exchange (`agentos.bus.messages`), and the broker URL (`agentos.bus.broker`).
"""

from agentos.bus.broker import Broker, parse_broker
from agentos.bus.remote import Dispatcher, RemoteExpert, WorkerStatus
from agentos.bus.worker import Worker

__all__ = ["Broker", "Dispatcher", "RemoteExpert", "Worker", "WorkerStatus", "parse_broker"]
