"""All of sitrep's settings, in one place.

Every knob is read from the environment (``SITREP_*``) or a ``.env`` file, so the same code
runs on a laptop against the local stack and in docker compose against real servers. The
README's configuration table is generated from this class (``sitrep config --markdown``), so
it cannot drift from the code.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Versions of the servers the local stack runs (and docker-compose.yml pins). Kafka 4.3.1 is
#: the newest release that kafka-python, aiokafka and faust-streaming all work with here
#: (4.4.0 does not resolve from Maven Central: its kafka-tools-api artefact is missing).
#: Elasticsearch 8.19.21 is the newest integ-test-zip on Maven Central; the 8.x Python client
#: matches it (a 9.x client refuses to talk to an 8.x node).
KAFKA_VERSION = "4.3.1"
ELASTICSEARCH_VERSION = "8.19.21"


def _default_stack_dir() -> Path:
    """``.stack`` in the checkout sitrep runs from, so every command finds the same stack."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "deploy" / "local").is_dir():
        return checkout / ".stack"
    return Path.cwd() / ".stack"


def _default_cache_dir() -> Path:
    """Downloads survive across clones, so later ``stack up`` runs start in seconds."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "sitrep"


class Settings(BaseSettings):
    """sitrep configuration. Field descriptions become the README's table."""

    model_config = SettingsConfigDict(
        env_prefix="SITREP_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- logging -------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of every sitrep process."
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="`json` for one JSON object per log line (production), "
        "`console` for humans."
    )

    # --- Kafka ---------------------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        None, description="Kafka bootstrap servers. Default: the local stack's broker "
        "(`127.0.0.1:<kafka_port>`)."
    )
    topic_prefix: str = Field(
        "", description="Prefix of every topic name, to share one cluster between deployments."
    )
    topic_partitions: int = Field(
        6, ge=1, description="Partitions of the pipeline topics created by `sitrep setup`: "
        "the ceiling on parallel workers per stage."
    )
    topic_replication: int = Field(
        1, ge=1, description="Replication factor of topics created by `sitrep setup`."
    )

    # --- Elasticsearch -------------------------------------------------------------------
    es_url: str | None = Field(
        None, description="Elasticsearch URL. Default: the local stack's node "
        "(`http://127.0.0.1:<es_port>`)."
    )
    index_prefix: str = Field(
        "sitrep", description="Prefix of every Elasticsearch index, alias and template."
    )
    story_lock_ttl: float = Field(
        30.0, gt=0, description="Seconds a worker's lease on story assignment lasts; a worker "
        "that died holding it blocks the others' indexing this long at most."
    )

    # --- feed poller (`sitrep poller`) ----------------------------------------------------
    feeds_file: Path | None = Field(
        None, description="YAML feed list that `sitrep poller` and `sitrep feeds import` load "
        "into the registry at start (url, name, tags, language, interval per feed)."
    )
    feeds_partitions: int = Field(
        12, ge=1, description="Partitions of the feed registry topics: the ceiling on poller "
        "processes sharing the feeds."
    )
    poll_interval: float = Field(
        300.0, gt=0, description="Default seconds between polls of a feed (adapted per feed)."
    )
    poll_min_interval: float = Field(
        60.0, gt=0, description="Busiest feeds are polled at most this often (seconds)."
    )
    poll_max_interval: float = Field(
        3600.0, gt=0, description="Quiet or failing feeds are polled at least this often "
        "(seconds)."
    )
    poll_full_fetch_every: int = Field(
        10, ge=1, description="Every N-th poll of a feed ignores its validators and fetches in "
        "full, to catch servers whose 304s cannot be believed."
    )
    poll_max_new: int = Field(
        500, ge=1, description="New entries handled per poll of one feed; a feed with more "
        "continues at once in the next poll, so one giant feed cannot hold a poller up."
    )
    poll_failing_after: int = Field(
        5, ge=1, description="Consecutive failures after which a feed is marked failing."
    )
    http_concurrency: int = Field(
        100, ge=1, description="Requests in flight at once, per poller process."
    )
    http_per_host: int = Field(
        2, ge=1, description="Requests in flight at once to one host."
    )
    http_host_delay: float = Field(
        1.0, ge=0, description="Minimum seconds between two requests to one host."
    )
    http_connect_timeout: float = Field(10.0, gt=0, description="TCP connect timeout (s).")
    http_read_timeout: float = Field(
        30.0, gt=0, description="Longest silence while reading a response (s)."
    )
    http_total_timeout: float = Field(
        60.0, gt=0, description="Longest time for a whole request and response (s)."
    )
    http_max_redirects: int = Field(5, ge=0, description="Redirects followed per request.")
    feed_max_bytes: int = Field(
        20_000_000, gt=0, description="Feeds larger than this are refused (recorded as an "
        "error on the feed)."
    )
    article_max_bytes: int = Field(
        2_000_000, gt=0, description="Article HTML beyond this is cut; the message records the "
        "cap and the truncation."
    )
    user_agent: str = Field(
        "sitrep/0.1 (news-ingest pipeline; polite poller)",
        description="User-Agent of every request; robots.txt rules for it are honoured.",
    )
    respect_robots: bool = Field(
        True, description="Honour robots.txt when fetching article pages."
    )
    poller_metrics_port: int = Field(
        9102, ge=0, le=65535, description="Prometheus metrics port of `sitrep poller` (0: off)."
    )

    # --- tagging -------------------------------------------------------------------------
    actor_files: list[Path] = Field(
        default_factory=list, description="Your own actor dictionaries (YAML, the format of "
        "`services/sitrep/data/actors.yaml`), merged over the shipped one at worker start; "
        'a JSON list, e.g. `["/etc/sitrep/actors.yaml"]`.'
    )

    # --- search API (`sitrep api`) and alerts -----------------------------------------
    api_host: str = Field("127.0.0.1", description="Address `sitrep api` listens on.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port of `sitrep api`.")
    api_keys: list[str] = Field(
        default_factory=list, description="API keys allowed to write (feeds, subscriptions), "
        'sent as `X-API-Key` or `Authorization: Bearer`; a JSON list, e.g. `["k1"]`. With '
        "none configured every write is refused (401).",
    )
    api_read_keys: list[str] = Field(
        default_factory=list, description="When set, reads (search, articles, subscriptions) "
        "need one of these keys or a write key; empty: reads are open.",
    )
    api_max_body_bytes: int = Field(
        65_536, gt=0, description="Largest request body `sitrep api` accepts (413 beyond)."
    )
    search_max_size: int = Field(
        100, ge=1, description="Most results one search page may ask for."
    )
    allow_private_urls: bool = Field(
        False, description="Let sitrep reach private, loopback or link-local addresses: "
        "webhook and feed URLs that point there, and what the poller fetches (article links, "
        "redirects). Off: refused, so neither the API nor a feed can reach internal services.",
    )
    webhook_timeout: float = Field(
        10.0, gt=0, description="Seconds a webhook endpoint has to answer one delivery."
    )
    delivery_max_attempts: int = Field(
        12, ge=1, description="Tries per alert and channel before it goes to the dead letter "
        "(with the backoff below, about 5 minutes of retrying)."
    )
    delivery_backoff: float = Field(
        2.0, gt=0, description="First retry delay of a failed delivery (s); doubles per try."
    )
    delivery_backoff_max: float = Field(
        30.0, gt=0, description="Longest delay between two delivery tries (s)."
    )
    delivery_sweep_interval: float = Field(
        2.0, gt=0, description="How often the worker looks for deliveries due for a retry and "
        "digests due for sending (s)."
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for e-mail alerts; unset: e-mail channels fail "
        "(and are dead-lettered) with that reason."
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(
        False, description="Upgrade the SMTP connection with STARTTLS (submission, port 587)."
    )
    smtp_tls: bool = Field(
        False, description="Connect with implicit TLS (SMTPS, port 465) instead of plain SMTP; "
        "not together with SMTP_STARTTLS."
    )
    smtp_ca_file: FilePath | None = Field(
        None, description="CA bundle the SMTP server's certificate is checked against, for a "
        "relay signed by a private CA. Unset: the system's trusted CAs."
    )
    smtp_from: str = Field(
        "sitrep@localhost", description="Sender address of e-mail alerts."
    )

    # --- Kibana --------------------------------------------------------------------------
    kibana_url: str | None = Field(
        None, description="Kibana URL. When set, `sitrep setup` imports the saved objects "
        "(data views, dashboard) there; `sitrep kibana import` uses it by default."
    )

    kibana_api_key: str | None = Field(
        None, description="API key for Kibana's saved-objects API, if Kibana requires one."
    )

    # --- the local stack (`sitrep stack`) ------------------------------------------------
    stack_dir: Path = Field(
        default_factory=_default_stack_dir,
        description="State, data and logs of the local stack, in one folder (default "
        "`.stack` in the checkout).",
    )
    stack_cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where downloaded Kafka and Elasticsearch distributions are kept "
        "(default `$XDG_CACHE_HOME/sitrep` or `~/.cache/sitrep`).",
    )
    kafka_version: str = Field(KAFKA_VERSION, description="Kafka release the stack runs.")
    es_version: str = Field(
        ELASTICSEARCH_VERSION, description="Elasticsearch release the stack runs."
    )
    kafka_port: int = Field(19092, ge=1, le=65535, description="Local Kafka broker port.")
    kafka_controller_port: int = Field(
        19093, ge=1, le=65535, description="Local Kafka KRaft controller port."
    )
    es_port: int = Field(19200, ge=1, le=65535, description="Local Elasticsearch HTTP port.")
    es_transport_port: int = Field(
        19300, ge=1, le=65535, description="Local Elasticsearch transport port."
    )
    kafka_heap: str = Field("512m", description="JVM heap of the local Kafka broker.")
    es_heap: str = Field("1g", description="JVM heap of the local Elasticsearch node.")
    java_home: Path | None = Field(
        None, description="JDK for the local stack (17 or newer). Default: `JAVA_HOME`, "
        "else the `java` on PATH."
    )
    stack_start_timeout: float = Field(
        60.0, gt=0, description="Seconds `stack up` waits for health before failing."
    )
    maven: str = Field("mvn", description="Maven executable used to fetch the distributions.")

    @field_validator("smtp_host", "smtp_username", "smtp_password", "kafka_bootstrap", "es_url",
                     "kibana_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``SITREP_SMTP_HOST=`` (as compose passes an unset variable) means unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("kafka_heap", "es_heap")
    @classmethod
    def _heap_is_jvm_size(cls, value: str) -> str:
        if not value[:-1].isdigit() or value[-1].lower() not in "kmg":
            raise ValueError(f"{value!r} is not a JVM heap size such as 512m or 2g")
        return value

    @model_validator(mode="after")
    def _one_smtp_tls_mode(self) -> Settings:
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("choose SMTP_TLS (implicit TLS, port 465) or SMTP_STARTTLS "
                             "(port 587), not both")
        return self

    @model_validator(mode="after")
    def _ports_are_distinct(self) -> Settings:
        ports = {
            "kafka_port": self.kafka_port,
            "kafka_controller_port": self.kafka_controller_port,
            "es_port": self.es_port,
            "es_transport_port": self.es_transport_port,
        }
        if len(set(ports.values())) != len(ports):
            raise ValueError(f"stack ports must all differ, got {ports}")
        return self

    @property
    def kafka_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def elasticsearch_url(self) -> str:
        return self.es_url or f"http://127.0.0.1:{self.es_port}"

    def topic(self, name: str) -> str:
        """Full topic name for a logical one (``articles.raw`` -> ``<prefix>articles.raw``)."""
        return f"{self.topic_prefix}{name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once: configuration errors surface at start-up."""
    return Settings()
