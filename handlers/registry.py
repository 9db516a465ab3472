"""Service-task handlers, registered by name.

A BPMN service task names its handler in ``spiffworkflow:serviceTaskOperator id="…"``.
Built-in handlers are named ``himaya.<verb>``: the operator's id shares the BPMN id space
with the steps, so it may not repeat a step id such as ``notify_prosecutor``.
The runtime calls the handler inside the case's transaction with a :class:`ServiceCall`;
the handler may only read the call and append outgoing messages with :meth:`ServiceCall.send`
(they become outbox rows in the same transaction). No network I/O here: delivery happens
after commit, in :mod:`notifications`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    channel: str
    recipient: dict[str, Any]
    payload: dict[str, Any]


@dataclass
class ServiceCall:
    case_id: str
    case_reference: str
    province: str
    unit: str
    risk_level: str
    step: str
    params: dict[str, Any]
    data: Mapping[str, Any]
    messages: list[OutgoingMessage] = field(default_factory=list)

    def send(self, topic: str, channel: str, recipient: dict[str, Any], payload: dict[str, Any]) -> None:
        self.messages.append(OutgoingMessage(topic, channel, dict(recipient), dict(payload)))


Handler = Callable[[ServiceCall], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}


def register(name: str) -> Callable[[Handler], Handler]:
    def decorate(function: Handler) -> Handler:
        if name in _HANDLERS and _HANDLERS[name] is not function:
            raise ValueError(f"handler '{name}' registered twice")
        _HANDLERS[name] = function
        return function
    return decorate


def get(name: str) -> Handler:
    try:
        return _HANDLERS[name]
    except KeyError:
        raise LookupError(f"no service-task handler named '{name}'") from None


def names() -> list[str]:
    return sorted(_HANDLERS)
