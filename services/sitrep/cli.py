"""The ``sitrep`` command line: one entry point for every service and tool.

The command names are a contract (DESIGN.md): the README, the Makefile and docker-compose.yml
call them, so renaming one is a breaking change.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sitrep.config import Settings, get_settings
from sitrep.logs import configure_logging

app = typer.Typer(
    help="sitrep: news feeds -> Kafka -> clean and tag -> Elasticsearch, search and alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="The local Kafka + Elasticsearch stack (no Docker).",
                        no_args_is_help=True)
app.add_typer(stack_app, name="stack")

out = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """Settings for a command; a bad configuration is a one-line error, not a traceback."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SITREP_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        err.print(f"[red]bad configuration:[/] {problems}")
        raise typer.Exit(2) from exc


@app.callback()
def _main() -> None:
    s = settings()
    configure_logging(s.log_level, s.log_format)


@stack_app.command("up")
def stack_up() -> None:
    """Download (first run only) and start Kafka and Elasticsearch; wait until healthy."""
    from sitrep.stack import LocalStack, StackError

    stack = LocalStack(settings())
    try:
        with err.status("starting the local stack") as status:
            statuses = stack.up(progress=lambda msg: status.update(msg))
    except StackError as exc:
        err.print("[red]stack up failed:[/]", end=" ")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    _print_status(statuses)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the Kafka and Elasticsearch processes that `stack up` started."""
    from sitrep.stack import LocalStack

    stopped = LocalStack(settings()).down()
    out.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command("status")
def stack_status() -> None:
    """Print versions, ports and health of the local stack; exit 1 unless all are healthy."""
    from sitrep.stack import LocalStack

    statuses = LocalStack(settings()).status()
    _print_status(statuses)
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)


def _print_status(statuses: list[Any]) -> None:
    table = Table(title="sitrep local stack")
    for column in ("server", "version", "state", "pid", "ports", "detail"):
        table.add_column(column)
    for s in statuses:
        state = "healthy" if s.healthy else ("starting/unhealthy" if s.running else "stopped")
        ports = ", ".join(f"{k} {v}" for k, v in s.ports.items())
        table.add_row(s.name, s.version, state, str(s.pid or "-"), ports, s.detail)
    out.print(table)


@app.command("setup")
def setup() -> None:
    """Create the pipeline's Kafka topics (idempotent; the docker compose setup job runs it)."""
    from sitrep.topics import create_topics

    for topic, state in create_topics(settings()).items():
        out.print(f"topic {topic}: {state}")


@app.command("config")
def show_config(
    markdown: bool = typer.Option(False, help="Print the README's configuration table."),
) -> None:
    """Print the effective configuration (values from SITREP_* variables and .env)."""
    if markdown:
        out.print(config_table_markdown(), markup=False, highlight=False, soft_wrap=True)
        return
    for name, value in settings().model_dump().items():
        out.print(f"SITREP_{name.upper()}={value}", markup=False, highlight=False)


def config_table_markdown() -> str:
    """The configuration table of the README, generated from the settings class."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        default = "(computed)" if info.default_factory else info.default
        if default is None:
            default = "(unset)"
        rows.append(f"| `SITREP_{name.upper()}` | `{default}` | {info.description} |")
    return "\n".join(rows)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
