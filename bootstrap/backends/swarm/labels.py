"""Swarm's vocabulary: the labels ``docker stack deploy`` puts on a stack's services, tasks,
networks (its namespace), and the task's service (``<stack>_<service>``)."""

from __future__ import annotations

from collections.abc import Mapping

from bootstrap.backends.docker import Vocabulary

STACK_LABEL = "com.docker.stack.namespace"
SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"


def identity(labels: Mapping[str, str]) -> tuple[str, str]:
    stack = str(labels.get(STACK_LABEL, ""))
    return stack, str(labels.get(SWARM_SERVICE_LABEL, "")).removeprefix(f"{stack}_")


STACK = Vocabulary(STACK_LABEL, identity, "", SWARM_SERVICE_LABEL)
