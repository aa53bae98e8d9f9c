"""Compose's vocabulary: the labels compose puts on what it creates."""

from __future__ import annotations

from collections.abc import Mapping

from bootstrap.backends.docker import Vocabulary

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
HASH_LABEL = "com.docker.compose.config-hash"


def identity(labels: Mapping[str, str]) -> tuple[str, str]:
    return str(labels.get(PROJECT_LABEL, "")), str(labels.get(SERVICE_LABEL, ""))


COMPOSE = Vocabulary(PROJECT_LABEL, identity, HASH_LABEL, SERVICE_LABEL)
