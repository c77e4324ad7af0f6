"""JSON Schemas of the topic messages (``schemas/*.schema.json``) and validation against them.

Producers validate in tests; consumers validate every message they read and send what does
not fit to the dead-letter topic, with the schema's complaint as the reason.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


class SchemaViolation(ValueError):
    """A message does not fit its topic's schema; the message names every problem."""

    def __init__(self, schema: str, problems: list[str]) -> None:
        self.schema = schema
        self.problems = problems
        super().__init__(f"{schema}: " + "; ".join(problems))


@cache
def validator(name: str) -> Draft202012Validator:
    """The compiled validator of ``schemas/<name>.schema.json`` (formats checked too)."""
    path = SCHEMAS_DIR / f"{name}.schema.json"
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def problems(name: str, document: Any) -> list[str]:
    """Every way ``document`` breaks schema ``name``, as ``path: message`` lines."""
    found = []
    for error in sorted(validator(name).iter_errors(document), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"{where}: {error.message[:300]}")
    return found


def validate(name: str, document: Any) -> None:
    found = problems(name, document)
    if found:
        raise SchemaViolation(name, found)
