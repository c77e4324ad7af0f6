"""Fixtures that connect to the real local stack.

The stack is started once by ``make test`` (``sitrep stack up``); these fixtures connect to
it, give every test its own topic and index names, and clean up after it. When the stack is
not reachable every integration test fails with the reason: they are never skipped, because
a skipped integration test proves nothing.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, UnknownTopicOrPartitionError

from sitrep.config import Settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def kafka_admin(settings: Settings) -> Iterator[KafkaAdminClient]:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_servers, request_timeout_ms=10_000,
            client_id="sitrep-tests",
        )
        admin.describe_cluster()
    except (KafkaError, OSError) as exc:
        pytest.fail(
            f"Kafka is not reachable at {settings.kafka_servers} ({exc!r}): start the local "
            "stack with `.venv/bin/sitrep stack up` (make test does this)",
            pytrace=False,
        )
    yield admin
    admin.close()


@pytest.fixture(scope="session")
def es(settings: Settings) -> Iterator[Elasticsearch]:
    client = Elasticsearch(settings.elasticsearch_url, request_timeout=30)
    try:
        client.cluster.health(wait_for_status="yellow", timeout="10s")
    except Exception as exc:
        pytest.fail(
            f"Elasticsearch is not reachable at {settings.elasticsearch_url} ({exc!r}): start "
            "the local stack with `.venv/bin/sitrep stack up` (make test does this)",
            pytrace=False,
        )
    yield client
    client.close()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names no other test (or earlier run) uses: ``test-<test name>-<kind>-<random>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]

    def make(kind: str) -> str:
        return f"test-{slug}-{kind}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def topic_factory(
    kafka_admin: KafkaAdminClient, unique_name: Callable[[str], str]
) -> Iterator[Callable[..., str]]:
    """Create topics for one test; they are deleted when it ends."""
    created: list[str] = []

    def make(partitions: int = 1, **configs: str) -> str:
        name = unique_name("topic")
        kafka_admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
        created.append(name)
        return name

    yield make
    if created:
        with contextlib.suppress(UnknownTopicOrPartitionError):
            kafka_admin.delete_topics(created)


@pytest.fixture
def topic(topic_factory: Callable[..., str]) -> str:
    return topic_factory()


@pytest.fixture
def index_name(es: Elasticsearch, unique_name: Callable[[str], str]) -> Iterator[str]:
    """An index name for one test; the index (and any ``<name>-*``) is deleted after it.

    Concrete names only: the node refuses wildcard deletes (action.destructive_requires_name).
    """
    name = unique_name("index")
    yield name
    existing = es.indices.get(index=f"{name}*", allow_no_indices=True, expand_wildcards="all")
    if existing:
        es.indices.delete(index=",".join(existing))


@pytest.fixture
def deployment(
    settings: Settings, kafka_admin: KafkaAdminClient, es: Elasticsearch
) -> Iterator[Settings]:
    """Settings of a private deployment on the shared stack: its own topic and index prefix,
    topics created and index templates installed; all of it is removed afterwards."""
    from sitrep.index import drop_indices, ensure_template_sync
    from sitrep.topics import create_topics

    token = uuid.uuid4().hex[:8]
    s = settings.model_copy(update={
        "topic_prefix": f"d{token}.", "index_prefix": f"d{token}", "topic_partitions": 2,
        "feeds_partitions": 2,
    })
    create_topics(s)
    ensure_template_sync(s)
    yield s
    mine = [t for t in kafka_admin.list_topics() if t.startswith(s.topic_prefix)]
    if mine:
        with contextlib.suppress(UnknownTopicOrPartitionError):
            kafka_admin.delete_topics(mine)
    drop_indices(es, s)
