"""Kibana saved objects: the "sitrep overview" dashboard, imported automatically.

``deploy/kibana/sitrep.ndjson`` holds the data views, Lens panels, map, saved searches and the
dashboard in Kibana's saved-objects export format, with stable ids. :func:`import_saved_objects`
waits until Kibana reports itself available, then posts the file to the saved-objects import
API with ``overwrite=true``, so running it again simply replaces the objects (idempotent).

The same module checks the file without a Kibana (:func:`check_saved_objects`): every
reference resolves, and every field a panel, the map, a saved search or a control uses exists
in the Elasticsearch index template behind its data view, with a type that fits its use.
"""

from __future__ import annotations

import fnmatch
import json
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
SAVED_OBJECTS_FILE = REPO / "deploy" / "kibana" / "sitrep.ndjson"
TEMPLATES_DIR = REPO / "schemas" / "elasticsearch"
DEFAULT_URL = "http://localhost:5601"
#: The index prefix the saved objects are written for; another prefix is substituted on import.
DEFAULT_PREFIX = "sitrep"
DASHBOARD_ID = "sitrep-overview"

#: Field types Elasticsearch can aggregate and sort on (with doc values).
AGGREGATABLE = frozenset({
    "keyword", "constant_keyword", "date", "date_nanos", "boolean", "ip", "long", "integer",
    "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long",
    "geo_point",
})
NUMERIC = frozenset({
    "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
    "unsigned_long",
})
GEO = frozenset({"geo_point", "geo_shape"})
#: Lens' pseudo field of "count of records".
RECORDS = "___records___"


class KibanaError(RuntimeError):
    """Kibana was unreachable, never became available, or refused the import."""


# --------------------------------------------------------------------------- the file


def load_saved_objects(path: Path = SAVED_OBJECTS_FILE) -> list[dict[str, Any]]:
    """The saved objects of an NDJSON file, one per non-empty line (an export summary line,
    which has no ``type``, is skipped)."""
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ValueError(f"{path}:{number}: not a JSON object")
        if "type" in value:
            objects.append(value)
    return objects


def with_prefix(ndjson: str, prefix: str) -> str:
    """The NDJSON with the data views pointed at another index prefix (ids stay the same)."""
    if prefix == DEFAULT_PREFIX:
        return ndjson
    lines = []
    for line in ndjson.splitlines():
        if line.strip():
            value = json.loads(line)
            if value.get("type") == "index-pattern":
                attributes = value["attributes"]
                title = str(attributes["title"])
                if title.startswith(f"{DEFAULT_PREFIX}-"):
                    attributes["title"] = prefix + title[len(DEFAULT_PREFIX):]
            line = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        lines.append(line)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class FieldUse:
    """One field an object uses: on which data view, for what (``aggregate``, ``geo``,
    ``numeric``, ``time``, ``display``), and where."""

    data_view: str
    field: str
    need: str
    where: str


def _json_attr(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _ref(obj: Mapping[str, Any], name: str) -> str | None:
    for ref in obj.get("references", []):
        if ref.get("name") == name:
            return str(ref.get("id"))
    return None


def fields_used(objects: Iterable[Mapping[str, Any]]) -> Iterator[FieldUse]:
    """Every field the objects use, found by walking them (Lens columns, saved-search columns
    and sort, map layers and their styles, dashboard controls, data-view time fields)."""
    for obj in objects:
        kind, oid, attrs = obj["type"], obj["id"], obj["attributes"]
        if kind == "index-pattern" and attrs.get("timeFieldName"):
            yield FieldUse(oid, attrs["timeFieldName"], "time", f"{oid}: timeFieldName")
        elif kind == "lens":
            layers = attrs["state"]["datasourceStates"]["formBased"]["layers"]
            for layer_id, layer in layers.items():
                view = _ref(obj, f"indexpattern-datasource-layer-{layer_id}") or "?"
                for column_id, column in layer["columns"].items():
                    field = column.get("sourceField")
                    if field and field != RECORDS:
                        need = "numeric" if column["operationType"] in (
                            "sum", "average", "min", "max", "median", "percentile",
                        ) else "aggregate"
                        yield FieldUse(view, field, need, f"{oid}: column {column_id}")
        elif kind == "search":
            view = _ref(obj, "kibanaSavedObjectMeta.searchSourceJSON.index") or "?"
            for field in attrs.get("columns", []):
                yield FieldUse(view, field, "display", f"{oid}: column")
            for field, _direction in attrs.get("sort", []):
                yield FieldUse(view, field, "aggregate", f"{oid}: sort")
        elif kind == "map":
            yield from _map_fields(obj)
        elif kind == "dashboard":
            control_group = attrs.get("controlGroupInput") or {}
            controls = _json_attr(control_group.get("panelsJSON", "{}"))
            for control_id, control in controls.items():
                explicit = control["explicitInput"]
                view = _ref(obj, f"controlGroup_{control_id}:optionsListDataView") or "?"
                yield FieldUse(view, explicit["fieldName"], "aggregate",
                               f"{oid}: control {control_id}")


def _map_fields(obj: Mapping[str, Any]) -> Iterator[FieldUse]:
    oid = obj["id"]
    for layer in _json_attr(obj["attributes"]["layerListJSON"]):
        source = layer.get("sourceDescriptor") or {}
        ref_name = source.get("indexPatternRefName")
        if not ref_name:
            continue
        view = _ref(obj, ref_name) or "?"
        where = f"{oid}: layer {layer.get('id')}"
        yield FieldUse(view, source["geoField"], "geo", where)
        derived = {"doc_count"}
        for metric in source.get("metrics", []):
            if metric.get("field"):
                yield FieldUse(view, metric["field"], "numeric", f"{where} metric")
                derived.add(f"{metric['type']}_of_{metric['field']}")
        for key in ("sortField", "topHitsSplitField"):
            if source.get(key):
                yield FieldUse(view, source[key], "aggregate", f"{where} {key}")
        for field in source.get("tooltipProperties", []):
            yield FieldUse(view, field, "display", f"{where} tooltip")
        for name, prop in (layer.get("style") or {}).get("properties", {}).items():
            field = (prop.get("options") or {}).get("field") or {}
            if prop.get("type") != "DYNAMIC" or field.get("origin") != "source":
                continue
            if source.get("type") == "ES_SEARCH":
                yield FieldUse(view, field["name"], "aggregate", f"{where} style {name}")
            elif field["name"] not in derived:
                yield FieldUse(view, field["name"], "metric", f"{where} style {name}")


def template_fields(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Dotted field name -> mapping, of an index template (objects flattened, multi-fields
    included)."""
    out: dict[str, Mapping[str, Any]] = {}

    def walk(properties: Mapping[str, Any], prefix: str) -> None:
        for name, mapping in properties.items():
            path = f"{prefix}{name}"
            if "properties" in mapping:
                walk(mapping["properties"], f"{path}.")
                continue
            out[path] = mapping
            for sub, sub_mapping in mapping.get("fields", {}).items():
                out[f"{path}.{sub}"] = sub_mapping

    walk(template["template"]["mappings"].get("properties", {}), "")
    return out


def load_templates(directory: Path = TEMPLATES_DIR) -> dict[str, dict[str, Any]]:
    """The index templates ``<name>.template.json`` of a directory, by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.template.json"))
    }


def template_of(title: str, templates: Mapping[str, Mapping[str, Any]],
                prefix: str = DEFAULT_PREFIX) -> str | None:
    """The template whose indices (or aliases) a data-view title such as ``sitrep-articles*``
    matches; None unless exactly one does."""
    matches = []
    for name, template in templates.items():
        names = [p.replace("{prefix}", prefix) for p in template.get("index_patterns", [])]
        names += [a.replace("{prefix}", prefix)
                  for a in template.get("template", {}).get("aliases", {})]
        for pattern in names:
            # a concrete index the template pattern covers, e.g. sitrep-articles-2017.05
            example = pattern.replace("*", "2017.05")
            if fnmatch.fnmatchcase(example, title):
                matches.append(name)
                break
    return matches[0] if len(matches) == 1 else None


def _fits(mapping: Mapping[str, Any], need: str) -> bool:
    kind = str(mapping.get("type", "object"))
    aggregatable = kind in AGGREGATABLE and mapping.get("doc_values", True) is not False
    if need == "display":
        return kind != "object"
    if need == "geo":
        return kind in GEO
    if need == "numeric":
        return aggregatable and kind in NUMERIC
    if need == "time":
        return kind in ("date", "date_nanos")
    return aggregatable


def check_fields(objects: list[dict[str, Any]], templates: Mapping[str, Mapping[str, Any]],
                 prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Problems with the fields the objects use: missing from the template behind their data
    view, or of a type that does not fit (an empty list when all is well)."""
    views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    problems: list[str] = []
    fields_of: dict[str, dict[str, Mapping[str, Any]]] = {}
    for view_id, view in views.items():
        title = str(view["attributes"]["title"])
        name = template_of(title, templates, prefix)
        if name is None:
            problems.append(f"data view {view_id} ({title}): no single index template matches")
        else:
            fields_of[view_id] = template_fields(templates[name])
    for use in fields_used(objects):
        if use.data_view not in views:
            problems.append(f"{use.where}: data view {use.data_view!r} is not in the file")
            continue
        fields = fields_of.get(use.data_view)
        if fields is None:
            continue
        if use.need == "metric":
            problems.append(f"{use.where}: {use.field!r} is not a metric of the layer")
        elif use.field not in fields:
            problems.append(f"{use.where}: field {use.field!r} is not in the index template")
        elif not _fits(fields[use.field], use.need):
            kind = fields[use.field].get("type")
            problems.append(f"{use.where}: field {use.field!r} ({kind}) cannot be used as "
                            f"{use.need}")
    return problems


#: What the import needs of each object type (besides type, id, attributes, references).
REQUIRED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "index-pattern": ("title", "timeFieldName"),
    "lens": ("title", "visualizationType", "state"),
    "map": ("title", "layerListJSON", "mapStateJSON"),
    "search": ("title", "columns", "sort", "kibanaSavedObjectMeta"),
    "dashboard": ("title", "panelsJSON", "optionsJSON", "kibanaSavedObjectMeta"),
}


def check_references(objects: list[dict[str, Any]]) -> list[str]:
    """Problems with the references: each must name an object of the file by type and id,
    and every reference name an object's attributes mention must be among its references."""
    known = {(o["type"], o["id"]) for o in objects}
    problems: list[str] = []
    for obj in objects:
        names = {ref["name"] for ref in obj["references"]}
        problems += [
            f"{obj['id']}: reference {ref['name']} -> {ref['type']}/{ref['id']} not in the file"
            for ref in obj["references"] if (ref["type"], ref["id"]) not in known
        ]
        problems += [f"{obj['id']}: {name} has no reference" for name in _ref_names(obj)
                     if name not in names]
    return problems


def _ref_names(obj: Mapping[str, Any]) -> Iterator[str]:
    """The reference names an object's attributes rely on."""
    attrs = obj["attributes"]
    if obj["type"] == "lens":
        for layer_id in attrs["state"]["datasourceStates"]["formBased"]["layers"]:
            yield f"indexpattern-datasource-layer-{layer_id}"
    elif obj["type"] == "map":
        for layer in _json_attr(attrs["layerListJSON"]):
            ref_name = (layer.get("sourceDescriptor") or {}).get("indexPatternRefName")
            if ref_name:
                yield ref_name
    elif obj["type"] in ("search", "dashboard"):
        source = _json_attr(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
        if source.get("indexRefName"):
            yield source["indexRefName"]
    if obj["type"] == "dashboard":
        for panel in _json_attr(attrs["panelsJSON"]):
            if panel.get("panelRefName"):
                yield f"{panel['panelIndex']}:{panel['panelRefName']}"
        control_group = attrs.get("controlGroupInput") or {}
        for control_id in _json_attr(control_group.get("panelsJSON", "{}")):
            yield f"controlGroup_{control_id}:optionsListDataView"


def check_saved_objects(objects: list[dict[str, Any]],
                        templates: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """All the checks: required keys and attributes, references, fields against templates."""
    problems: list[str] = []
    for obj in objects:
        missing = [key for key in ("type", "id", "attributes", "references") if key not in obj]
        if missing:
            problems.append(f"{obj.get('id')}: missing {', '.join(missing)}")
            continue
        needed = REQUIRED_ATTRIBUTES.get(obj["type"])
        if needed is None:
            problems.append(f"{obj['id']}: unexpected type {obj['type']}")
            continue
        problems += [f"{obj['id']}: attribute {name} missing" for name in needed
                     if name not in obj["attributes"]]
    if problems:
        return problems
    problems += check_references(objects)
    problems += check_fields(objects, load_templates() if templates is None else templates)
    return problems


# --------------------------------------------------------------------------- the import


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"kbn-xsrf": "true"}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    return headers


def wait_until_available(client: httpx.Client, url: str, *, retries: int,
                         wait_timeout: float, backoff: float = 0.5) -> None:
    """Poll ``GET /api/status`` until ``status.overall.level`` is ``available``: at most
    ``retries`` further attempts and ``wait_timeout`` seconds, backing off exponentially."""
    deadline = time.monotonic() + wait_timeout
    problem = "no attempt made"
    attempt = 0
    while True:
        try:
            response = client.get("/api/status")
            if response.status_code in (401, 403):
                raise KibanaError(f"Kibana at {url} refused the credentials: "
                                  f"HTTP {response.status_code} on /api/status")
            level = _status_level(response)
            if response.status_code == 200 and level == "available":
                return
            problem = f"HTTP {response.status_code}, status level {level or 'unknown'}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt += 1
        remaining = deadline - time.monotonic()
        if attempt > retries or remaining <= 0:
            raise KibanaError(
                f"Kibana at {url} did not become available after {attempt} attempt(s) "
                f"in {wait_timeout:g} s; last problem: {problem}")
        time.sleep(min(backoff * 2 ** (attempt - 1), 10.0, remaining))


def _status_level(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    overall = (body.get("status") or {}).get("overall") or {}
    # 8.x: {"level": "available"}; 7.x answered {"state": "green"}
    level = overall.get("level") or overall.get("state")
    return str(level) if level is not None else None


def _describe_error(error: Mapping[str, Any]) -> str:
    detail = error.get("error") or {}
    what = str(detail.get("type", "error"))
    if detail.get("references"):
        missing = ", ".join(f"{r.get('type')}/{r.get('id')}" for r in detail["references"])
        what += f" ({missing})"
    elif detail.get("message"):
        what += f" ({detail['message']})"
    title = f" \"{error['title']}\"" if error.get("title") else ""
    return f"{error.get('type')}/{error.get('id')}{title}: {what}"


def import_saved_objects(
    url: str,
    path: Path = SAVED_OBJECTS_FILE,
    *,
    api_key: str | None = None,
    auth: tuple[str, str] | None = None,
    prefix: str = DEFAULT_PREFIX,
    retries: int = 30,
    wait_timeout: float = 180.0,
    backoff: float = 0.5,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Wait for Kibana at ``url`` to be available, then import the saved objects of ``path``
    with ``overwrite=true`` (so a second run replaces them). Returns Kibana's answer
    (``success``, ``successCount``, ...); raises :class:`KibanaError` when Kibana is
    unreachable, never becomes available, or reports errors."""
    base = url.rstrip("/")
    ndjson = with_prefix(path.read_text(encoding="utf-8"), prefix)
    with httpx.Client(base_url=base, headers=_headers(api_key), auth=auth,
                      timeout=timeout) as client:
        wait_until_available(client, base, retries=retries, wait_timeout=wait_timeout,
                             backoff=backoff)
        try:
            response = client.post(
                "/api/saved_objects/_import",
                params={"overwrite": "true"},
                files={"file": ("sitrep.ndjson", ndjson.encode("utf-8"), "application/ndjson")},
            )
        except httpx.HTTPError as exc:
            raise KibanaError(f"Kibana at {base}: import failed: {exc}") from exc
    try:
        result = response.json()
    except ValueError:
        result = None
    if response.status_code != 200 or not isinstance(result, dict):
        raise KibanaError(f"Kibana at {base}: import answered HTTP {response.status_code}: "
                          f"{response.text[:500]}")
    if not result.get("success", False):
        errors = [_describe_error(e) for e in result.get("errors") or []]
        raise KibanaError(
            f"Kibana at {base}: import of {path.name} failed "
            f"({result.get('successCount', 0)} imported, {len(errors)} error(s)): "
            + ("; ".join(errors) or "no details"))
    return result


def kibana_command(url: str | None = None) -> int:
    """``sitrep kibana import [--url URL]``: import the dashboard, print one line, exit code.

    The URL defaults to ``SITREP_KIBANA_URL`` (else http://localhost:5601); an API key is
    taken from ``SITREP_KIBANA_API_KEY``, the index prefix from the settings
    (``SITREP_INDEX_PREFIX``)."""
    from sitrep.config import Settings

    settings = Settings()
    target = url or settings.kibana_url or DEFAULT_URL
    prefix = settings.index_prefix or DEFAULT_PREFIX
    try:
        result = import_saved_objects(target, api_key=settings.kibana_api_key, prefix=prefix)
    except (KibanaError, OSError) as exc:
        print(f"kibana import failed: {exc}", file=sys.stderr)
        return 1
    print(f"imported {result.get('successCount', 0)} saved objects into {target.rstrip('/')}"
          f" (dashboard \"sitrep overview\": {target.rstrip('/')}/app/dashboards#/view/"
          f"{DASHBOARD_ID})")
    return 0
