"""The Kibana saved objects (deploy/kibana/sitrep.ndjson) and their import.

No Kibana runs here: the file is checked against the import format and against the index
templates (every field a panel uses must exist there, with a fitting type), and the import
command is run against a small local HTTP server that answers like Kibana."""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sitrep import kibana
from sitrep.kibana import KibanaError

NDJSON = kibana.SAVED_OBJECTS_FILE

EXPECTED_IDS = [
    ("index-pattern", "sitrep-articles-dataview"),
    ("index-pattern", "sitrep-alerts-dataview"),
    ("lens", "sitrep-lens-volume-by-actor"),
    ("lens", "sitrep-lens-top-countries"),
    ("lens", "sitrep-lens-top-regions"),
    ("lens", "sitrep-lens-top-actors-by-type"),
    ("lens", "sitrep-lens-top-sources"),
    ("lens", "sitrep-lens-languages"),
    ("search", "sitrep-search-latest-articles"),
    ("search", "sitrep-search-latest-alerts"),
    ("map", "sitrep-map-places"),
    ("dashboard", "sitrep-overview"),
]

#: typeMigrationVersion values Kibana 8.x exports for these types (older ones are migrated on
#: import; newer ones than the running Kibana knows are refused).
TYPE_MIGRATION_VERSIONS = {
    "index-pattern": "8.0.0",
    "lens": "8.9.0",
    "search": "8.0.0",
    "map": "8.4.0",
    "dashboard": "8.9.0",
}
#: Attributes Kibana stores as JSON strings, by type (dotted paths into attributes).
JSON_STRING_ATTRIBUTES = {
    "index-pattern": ["fields", "fieldAttrs", "fieldFormatMap", "runtimeFieldMap",
                      "sourceFilters"],
    "search": ["kibanaSavedObjectMeta.searchSourceJSON"],
    "map": ["layerListJSON", "mapStateJSON", "uiStateJSON"],
    "dashboard": ["panelsJSON", "optionsJSON", "kibanaSavedObjectMeta.searchSourceJSON",
                  "controlGroupInput.panelsJSON", "controlGroupInput.ignoreParentSettingsJSON"],
}
LENS_TYPES = {"lnsXY", "lnsDatatable", "lnsPie", "lnsMetric", "lnsHeatmap", "lnsLegacyMetric"}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return kibana.load_saved_objects(NDJSON)


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    return kibana.load_templates()


def by_id(objects: list[dict[str, Any]], oid: str) -> dict[str, Any]:
    return next(o for o in objects if o["id"] == oid)


def attribute(attrs: dict[str, Any], dotted: str) -> Any:
    value: Any = attrs
    for key in dotted.split("."):
        value = value[key]
    return value


# --------------------------------------------------------------------------- the file


def test_ndjson_is_one_json_object_per_line() -> None:
    lines = NDJSON.read_text(encoding="utf-8").splitlines()
    assert lines, "empty file"
    for number, line in enumerate(lines, start=1):
        value = json.loads(line)
        assert isinstance(value, dict), f"line {number}"
        assert "type" in value, f"line {number} is not a saved object (export summary?)"
    assert NDJSON.read_text(encoding="utf-8").endswith("\n")


def test_ids_are_stable(objects: list[dict[str, Any]]) -> None:
    assert [(o["type"], o["id"]) for o in objects] == EXPECTED_IDS


def test_every_object_has_what_the_import_needs(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        kind = obj["type"]
        assert isinstance(obj["id"], str) and obj["id"]
        assert isinstance(obj["attributes"], dict)
        assert isinstance(obj["references"], list)
        assert obj["coreMigrationVersion"] == "8.8.0", obj["id"]
        assert obj["typeMigrationVersion"] == TYPE_MIGRATION_VERSIONS[kind], obj["id"]
        assert obj["managed"] is False
        for name in kibana.REQUIRED_ATTRIBUTES[kind]:
            assert name in obj["attributes"], f"{obj['id']}: {name}"
        assert obj["attributes"]["title"]
        for dotted in JSON_STRING_ATTRIBUTES.get(kind, []):
            value = attribute(obj["attributes"], dotted)
            assert isinstance(value, str), f"{obj['id']}: {dotted} must be a JSON string"
            json.loads(value)
        for ref in obj["references"]:
            assert set(ref) == {"type", "id", "name"}, ref
    assert kibana.check_saved_objects(objects) == []


def test_data_views_cover_articles_and_alerts(objects: list[dict[str, Any]]) -> None:
    articles = by_id(objects, "sitrep-articles-dataview")["attributes"]
    alerts = by_id(objects, "sitrep-alerts-dataview")["attributes"]
    assert (articles["title"], articles["timeFieldName"]) == ("sitrep-articles*", "published")
    assert (alerts["title"], alerts["timeFieldName"]) == ("sitrep-alerts*", "matched_at")


def test_references_resolve(objects: list[dict[str, Any]]) -> None:
    assert kibana.check_references(objects) == []
    # and the check does catch a dangling one
    broken = copy.deepcopy(objects)
    by_id(broken, "sitrep-overview")["references"][0]["id"] = "no-such-object"
    assert any("no-such-object" in p for p in kibana.check_references(broken))
    unnamed = copy.deepcopy(objects)
    by_id(unnamed, "sitrep-map-places")["references"].pop()
    assert any("layer_2_source_index_pattern" in p for p in kibana.check_references(unnamed))


def test_dashboard_shows_every_panel_object(objects: list[dict[str, Any]]) -> None:
    dashboard = by_id(objects, "sitrep-overview")
    attrs = dashboard["attributes"]
    assert attrs["title"] == "sitrep overview"
    panels = json.loads(attrs["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    shown = set()
    for panel in panels:
        index = panel["panelIndex"]
        assert panel["gridData"]["i"] == index
        assert panel["panelRefName"] == f"panel_{index}"
        ref = refs[f"{index}:panel_{index}"]
        assert ref["type"] == panel["type"]
        shown.add((ref["type"], ref["id"]))
    assert len({p["panelIndex"] for p in panels}) == len(panels)
    panel_objects = {(o["type"], o["id"]) for o in objects
                     if o["type"] not in ("index-pattern", "dashboard")}
    assert shown == panel_objects


#: The dashboard attributes Kibana's dashboard saved-object schema accepts (it forbids others).
DASHBOARD_ATTRIBUTES = {
    "title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo",
    "refreshInterval", "controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version",
}


def test_dashboard_attributes_are_known_to_the_schema(objects: list[dict[str, Any]]) -> None:
    attrs = by_id(objects, "sitrep-overview")["attributes"]
    assert set(attrs) <= DASHBOARD_ATTRIBUTES
    assert set(attrs["controlGroupInput"]) <= {
        "panelsJSON", "controlStyle", "chainingSystem", "ignoreParentSettingsJSON",
        "showApplySelections"}
    assert set(attrs["refreshInterval"]) == {"pause", "value"}


def test_dashboard_grid_fits_and_does_not_overlap(objects: list[dict[str, Any]]) -> None:
    panels = json.loads(by_id(objects, "sitrep-overview")["attributes"]["panelsJSON"])
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        g = panel["gridData"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 48, panel["panelIndex"]
        area = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not area & cells, f"panel {panel['panelIndex']} overlaps another"
        cells |= area


def test_controls_filter_by_region_actor_and_source(objects: list[dict[str, Any]]) -> None:
    dashboard = by_id(objects, "sitrep-overview")
    group = dashboard["attributes"]["controlGroupInput"]
    controls = json.loads(group["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    fields = []
    for control_id, control in sorted(controls.items(), key=lambda kv: kv[1]["order"]):
        assert control["type"] == "optionsListControl"
        assert control["explicitInput"]["id"] == control_id
        ref = refs[f"controlGroup_{control_id}:optionsListDataView"]
        assert ref["type"] == "index-pattern"
        assert control["explicitInput"]["dataViewId"] == ref["id"]
        fields.append(control["explicitInput"]["fieldName"])
    assert fields == ["regions", "actor_names", "source"]


def test_lens_states_are_consistent(objects: list[dict[str, Any]]) -> None:
    lenses = [o for o in objects if o["type"] == "lens"]
    assert {o["attributes"]["visualizationType"] for o in lenses} <= LENS_TYPES
    for lens in lenses:
        state = lens["attributes"]["state"]
        layers = state["datasourceStates"]["formBased"]["layers"]
        for layer in layers.values():
            assert sorted(layer["columnOrder"]) == sorted(layer["columns"]), lens["id"]
        text = json.dumps(state["visualization"])
        for vis_layer in re.findall(r'"layerId": "([^"]+)"', text):
            assert vis_layer in layers, lens["id"]
        columns = {c for layer in layers.values() for c in layer["columns"]}
        vis = state["visualization"]
        for layer in vis.get("layers", [vis]):
            used = [layer.get(k) for k in ("xAccessor", "splitAccessor") if layer.get(k)]
            used += layer.get("accessors", []) + layer.get("primaryGroups", [])
            used += layer.get("metrics", [])
            used += [c["columnId"] for c in layer.get("columns", [])]
            assert used and set(used) <= columns, lens["id"]


def test_volume_over_time_is_split_by_top_five_actors(objects: list[dict[str, Any]]) -> None:
    lens = by_id(objects, "sitrep-lens-volume-by-actor")
    columns = lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"][
        "layer1"]["columns"]
    ops = {(c["operationType"], c.get("sourceField")) for c in columns.values()}
    assert ("date_histogram", "published") in ops and ("terms", "actor_names") in ops
    assert [c["params"]["size"] for c in columns.values() if c["operationType"] == "terms"] == [5]


def test_map_layers(objects: list[dict[str, Any]]) -> None:
    attrs = by_id(objects, "sitrep-map-places")["attributes"]
    layers = json.loads(attrs["layerListJSON"])
    assert {layer["type"] for layer in layers} <= {"EMS_VECTOR_TILE", "GEOJSON_VECTOR",
                                                   "MVT_VECTOR", "HEATMAP"}
    grid = next(layer for layer in layers
                if layer["sourceDescriptor"]["type"] == "ES_GEO_GRID")
    assert grid["sourceDescriptor"]["geoField"] == "places.location"
    size = grid["style"]["properties"]["iconSize"]
    assert size["type"] == "DYNAMIC"
    assert size["options"]["field"]["name"] == "sum_of_places.mentions"
    state = json.loads(attrs["mapStateJSON"])
    assert {"zoom", "center"} <= set(state)
    assert len({layer["id"] for layer in layers}) == len(layers)


def test_saved_search_of_latest_articles(objects: list[dict[str, Any]]) -> None:
    attrs = by_id(objects, "sitrep-search-latest-articles")["attributes"]
    assert attrs["sort"] == [["published", "desc"]]
    assert attrs["columns"] == ["title", "source", "countries", "actor_names", "place_names",
                                "language"]


# --------------------------------------------------------------------------- fields vs templates


def test_every_used_field_is_in_the_index_templates(
    objects: list[dict[str, Any]], templates: dict[str, dict[str, Any]]
) -> None:
    assert kibana.check_fields(objects, templates) == []


def test_the_field_walk_sees_every_kind_of_object(objects: list[dict[str, Any]]) -> None:
    uses = list(kibana.fields_used(objects))
    sources = {use.where.split(":")[0] for use in uses}
    assert sources == {o["id"] for o in objects if o["type"] != "dashboard"} | {
        "sitrep-overview"}
    needs = {use.need for use in uses}
    assert {"aggregate", "geo", "numeric", "time", "display"} <= needs
    assert {u.data_view for u in uses} == {"sitrep-articles-dataview", "sitrep-alerts-dataview"}


def _used_fields() -> list[tuple[str, str]]:
    objects = kibana.load_saved_objects(NDJSON)
    views = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    templates = kibana.load_templates()
    pairs = set()
    for use in kibana.fields_used(objects):
        name = kibana.template_of(views[use.data_view], templates)
        assert name is not None
        pairs.add((name, use.field))
    return sorted(pairs)


def _rename(template: dict[str, Any], dotted: str, new: str) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    properties = changed["template"]["mappings"]["properties"]
    *parents, leaf = dotted.split(".")
    for parent in parents:
        properties = properties[parent]["properties"]
    properties[new] = properties.pop(leaf)
    return changed


@pytest.mark.parametrize(("template_name", "field"), _used_fields())
def test_renaming_a_used_field_in_the_template_fails_the_check(
    objects: list[dict[str, Any]], templates: dict[str, dict[str, Any]],
    template_name: str, field: str,
) -> None:
    changed = dict(templates)
    changed[template_name] = _rename(templates[template_name], field, "renamed_field")
    problems = kibana.check_fields(objects, changed)
    assert problems and all(repr(field) in p for p in problems), problems


def test_a_field_of_the_wrong_type_fails_the_check(
    objects: list[dict[str, Any]], templates: dict[str, dict[str, Any]]
) -> None:
    changed = copy.deepcopy(templates)
    props = changed["articles.template.json"]["template"]["mappings"]["properties"]
    props["places"]["properties"]["location"] = {"type": "keyword"}
    props["regions"] = {"type": "text"}
    problems = kibana.check_fields(objects, changed)
    assert any("'places.location' (keyword) cannot be used as geo" in p for p in problems)
    assert any("'regions' (text) cannot be used as aggregate" in p for p in problems)


def test_alerts_template_has_the_alert_history_fields(
    templates: dict[str, dict[str, Any]]
) -> None:
    template = templates["alerts.template.json"]
    assert template["_comment"]
    assert all("{prefix}-alerts" in p for p in template["index_patterns"])
    fields = {name: m["type"] for name, m in kibana.template_fields(template).items()}
    # What the dashboard's "Latest alerts" panel and the delivery stage rely on.
    assert fields.items() >= {
        "alert_id": "keyword", "subscription_id": "keyword", "subscription_name": "keyword",
        "article_id": "keyword", "story_id": "keyword", "title": "text", "url": "keyword",
        "matched_at": "date", "delivered_at": "date", "channels": "keyword",
        "delivery_status": "keyword", "countries": "keyword", "actor_names": "keyword",
        "next_attempt_at": "date", "lease_until": "date",
        "deliveries.webhook.status": "keyword", "deliveries.email.attempts": "integer",
    }.items()
    assert kibana.template_of("sitrep-alerts*", templates) == "alerts.template.json"
    assert kibana.template_of("sitrep-articles*", templates) == "articles.template.json"


def test_another_index_prefix_rewrites_only_the_data_view_titles() -> None:
    text = NDJSON.read_text(encoding="utf-8")
    assert kibana.with_prefix(text, "sitrep") == text
    moved = [json.loads(line) for line in kibana.with_prefix(text, "news").splitlines()]
    titles = {o["id"]: o["attributes"]["title"] for o in moved if o["type"] == "index-pattern"}
    assert titles == {"sitrep-articles-dataview": "news-articles*",
                      "sitrep-alerts-dataview": "news-alerts*"}
    assert [o["id"] for o in moved] == [oid for _, oid in EXPECTED_IDS]


# --------------------------------------------------------------------------- the import


class FakeKibana:
    """A local HTTP server answering /api/status and /api/saved_objects/_import like Kibana.

    ``statuses``: (HTTP code, level) answers of /api/status, in order; then "available".
    ``answer``: the import's (HTTP code, JSON body); by default success with the count of
    objects received."""

    def __init__(self) -> None:
        self.statuses: list[tuple[int, str]] = []
        self.answer: tuple[int, dict[str, Any]] | None = None
        self.status_calls = 0
        self.imports: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if urlsplit(self.path).path != "/api/status":
                    self._send(404, {"error": "Not Found"})
                    return
                fake.status_calls += 1
                code, level = fake.statuses.pop(0) if fake.statuses else (200, "available")
                self._send(code, {"status": {"overall": {"level": level}}})

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                message = BytesParser(policy=HTTP).parsebytes(
                    b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n"
                    + body)
                parts: dict[str, dict[str, Any]] = {}
                for part in message.iter_parts():
                    content = part.get_payload(decode=True)
                    assert isinstance(content, bytes)
                    parts[str(part.get_param("name", header="content-disposition"))] = {
                        "filename": part.get_filename(),
                        "content_type": part.get_content_type(),
                        "content": content,
                    }
                fake.imports.append({"method": self.command, "path": url.path,
                                     "query": parse_qs(url.query),
                                     "headers": dict(self.headers),
                                     "multipart": message.is_multipart(), "parts": parts})
                if fake.answer is not None:
                    self._send(*fake.answer)
                    return
                lines = parts["file"]["content"].decode().splitlines()
                self._send(200, {"success": True, "successCount": len(lines),
                                 "successResults": [], "warnings": []})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeKibana:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def fake_kibana() -> Iterator[FakeKibana]:
    with FakeKibana() as fake:
        yield fake


def test_import_posts_the_ndjson_like_the_kibana_api_wants(fake_kibana: FakeKibana) -> None:
    result = kibana.import_saved_objects(fake_kibana.url, retries=2, wait_timeout=5)
    assert result["success"] is True
    assert result["successCount"] == len(EXPECTED_IDS)
    [request] = fake_kibana.imports
    assert request["method"] == "POST"
    assert request["path"] == "/api/saved_objects/_import"
    assert request["query"] == {"overwrite": ["true"]}
    assert request["headers"]["kbn-xsrf"] == "true"
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request["multipart"]
    part = request["parts"]["file"]
    assert part["filename"] == "sitrep.ndjson"
    assert part["content_type"] == "application/ndjson"
    assert part["content"] == NDJSON.read_bytes()


def test_import_twice_overwrites_with_the_same_objects(fake_kibana: FakeKibana) -> None:
    for _ in range(2):
        kibana.import_saved_objects(fake_kibana.url, retries=2, wait_timeout=5)
    first, second = fake_kibana.imports
    assert first["parts"]["file"]["content"] == second["parts"]["file"]["content"]
    assert second["query"] == {"overwrite": ["true"]}


def test_import_sends_an_api_key(fake_kibana: FakeKibana) -> None:
    kibana.import_saved_objects(fake_kibana.url, api_key="c2VjcmV0", retries=1, wait_timeout=5)
    assert fake_kibana.imports[0]["headers"]["Authorization"] == "ApiKey c2VjcmV0"


def test_import_waits_until_kibana_is_available(fake_kibana: FakeKibana) -> None:
    fake_kibana.statuses = [(503, "unavailable"), (503, "critical"), (200, "degraded")]
    result = kibana.import_saved_objects(fake_kibana.url, retries=10, wait_timeout=10,
                                         backoff=0.01)
    assert result["success"] is True
    assert fake_kibana.status_calls == 4
    assert len(fake_kibana.imports) == 1


def test_kibana_that_never_becomes_available_is_a_clear_error(
    fake_kibana: FakeKibana,
) -> None:
    fake_kibana.statuses = [(503, "unavailable")] * 10
    with pytest.raises(KibanaError) as error:
        kibana.import_saved_objects(fake_kibana.url, retries=3, wait_timeout=10, backoff=0.01)
    message = str(error.value)
    assert fake_kibana.url in message and "HTTP 503" in message and "unavailable" in message
    assert fake_kibana.status_calls == 4
    assert not fake_kibana.imports


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_kibana_retries_then_fails_quickly() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(KibanaError) as error:
        kibana.import_saved_objects(url, retries=3, wait_timeout=3, backoff=0.05)
    assert time.monotonic() - started < 5
    message = str(error.value)
    assert url in message
    assert "4 attempt(s)" in message and "ConnectError" in message


def test_import_errors_are_listed(fake_kibana: FakeKibana) -> None:
    fake_kibana.answer = (200, {
        "success": False, "successCount": 10,
        "errors": [
            {"id": "sitrep-map-places", "type": "map", "title": "Places mentioned",
             "error": {"type": "missing_references",
                       "references": [{"type": "index-pattern", "id": "gone"}]}},
            {"id": "sitrep-overview", "type": "dashboard", "title": "sitrep overview",
             "error": {"type": "unknown", "message": "bad panelsJSON"}},
        ]})
    with pytest.raises(KibanaError) as error:
        kibana.import_saved_objects(fake_kibana.url, retries=1, wait_timeout=5)
    message = str(error.value)
    assert "2 error(s)" in message
    assert 'map/sitrep-map-places "Places mentioned": missing_references (index-pattern/gone)' \
        in message
    assert "dashboard/sitrep-overview" in message and "bad panelsJSON" in message


def test_import_refused_by_http_status(fake_kibana: FakeKibana) -> None:
    fake_kibana.answer = (415, {"statusCode": 415, "error": "Unsupported Media Type"})
    with pytest.raises(KibanaError, match="HTTP 415"):
        kibana.import_saved_objects(fake_kibana.url, retries=1, wait_timeout=5)


def test_kibana_command_prints_one_line(
    fake_kibana: FakeKibana, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SITREP_KIBANA_URL", fake_kibana.url)
    monkeypatch.delenv("SITREP_INDEX_PREFIX", raising=False)
    monkeypatch.delenv("SITREP_KIBANA_API_KEY", raising=False)
    assert kibana.kibana_command(None) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert f"imported {len(EXPECTED_IDS)} saved objects into {fake_kibana.url}" in out

    fake_kibana.answer = (200, {"success": False, "successCount": 0, "errors": []})
    assert kibana.kibana_command(fake_kibana.url) == 1
    assert fake_kibana.url in capsys.readouterr().err


def test_kibana_command_applies_the_index_prefix(
    fake_kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SITREP_INDEX_PREFIX", "news")
    assert kibana.kibana_command(fake_kibana.url) == 0
    sent = fake_kibana.imports[0]["parts"]["file"]["content"].decode()
    assert '"title":"news-articles*"' in sent and "sitrep-articles*" not in sent
