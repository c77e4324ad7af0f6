"""The local stack is real: the clients the pipeline uses talk to it as to production."""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from sitrep.config import Settings
from sitrep.topics import PIPELINE_TOPICS, create_topics


def test_kafka_python_produces_and_consumes(settings: Settings, topic: str) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers, acks="all", compression_type="gzip"
    )
    for i in range(10):
        producer.send(topic, key=f"k{i}".encode(), value=json.dumps({"n": i}).encode())
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        topic, bootstrap_servers=settings.kafka_servers, group_id=f"{topic}-g",
        auto_offset_reset="earliest", consumer_timeout_ms=15_000,
    )
    values = []
    for message in consumer:
        values.append(json.loads(message.value)["n"])
        if len(values) == 10:
            break
    consumer.close()
    assert values == list(range(10))


def test_aiokafka_produces_and_consumes(settings: Settings, topic: str) -> None:
    async def roundtrip() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all")
        await producer.start()
        try:
            for i in range(5):
                await producer.send_and_wait(topic, f"m{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=settings.kafka_servers, group_id=f"{topic}-g",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        got: list[bytes] = []
        try:
            async with asyncio.timeout(20):
                while len(got) < 5:
                    batch = await consumer.getmany(timeout_ms=500)
                    for messages in batch.values():
                        got.extend(m.value for m in messages)
        finally:
            await consumer.stop()
        return got

    assert asyncio.run(roundtrip()) == [f"m{i}".encode() for i in range(5)]


def test_elasticsearch_indexes_and_finds_a_document(es: Elasticsearch, index_name: str) -> None:
    es.indices.create(
        index=index_name,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={"properties": {
            "title": {"type": "text"},
            "actors": {"type": "keyword"},
            "published": {"type": "date"},
            "location": {"type": "geo_point"},
        }},
    )
    es.index(
        index=index_name, id="a1", refresh="wait_for",
        document={
            "title": "Militias reach the Syrian border",
            "actors": ["pmf", "isis"],
            "published": "2017-05-30T10:00:00Z",
            "location": {"lat": 36.03, "lon": 41.73},
        },
    )
    found = es.search(
        index=index_name,
        query={"bool": {"must": {"match": {"title": "border"}},
                        "filter": {"term": {"actors": "pmf"}}}},
        aggs={"actors": {"terms": {"field": "actors"}}},
    )
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["a1"]
    buckets = {b["key"] for b in found["aggregations"]["actors"]["buckets"]}
    assert buckets == {"pmf", "isis"}


def test_setup_creates_pipeline_topics_idempotently(settings: Settings, kafka_admin) -> None:  # type: ignore[no-untyped-def]
    prefixed = settings.model_copy(update={"topic_prefix": f"t{id(settings):x}-"})
    first = create_topics(prefixed)
    second = create_topics(prefixed)
    try:
        assert set(first.values()) == {"created"}
        assert set(second.values()) == {"exists"}
        assert len(first) == len(PIPELINE_TOPICS)
        described = {
            t.get("topic") or t.get("name"): t for t in kafka_admin.describe_topics(list(first))
        }
        for spec in PIPELINE_TOPICS:
            topic = described[prefixed.topic(spec.name)]
            assert len(topic["partitions"]) == spec.partitions(settings)
    finally:
        kafka_admin.delete_topics(list(first))
