"""sitrep: a news-ingest streaming pipeline.

Feeds are polled into Kafka, cleaned and tagged by stream processors, and indexed into
Elasticsearch for search, keyword alerts and dashboards. Read the stage modules in order
(poller, clean, tag, index, alerts, api) to follow one article from feed to index.
"""

__version__ = "0.1.0"
