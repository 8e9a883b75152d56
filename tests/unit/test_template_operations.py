"""template.yaml, the operator's view: the dashboard, the HTTP API's access log and its throttling.

The dashboard's metric names are checked against the names the function's code emits, read from the
source (`emitted_metric_names`), so a renamed metric cannot leave an empty graph behind.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bookhook
from bookhook.handlers.alarms import record_delivery_signals
from tests.unit.template_fixtures import resources_of_type

DASHBOARD = "OperationsDashboard"
ACCESS_LOG_GROUP = "WebhookApiAccessLogGroup"
API = "WebhookApi"
SENDERS = {"zapier", "typeform", "stripe"}
NAMESPACE = "BookingWebhooks"
FUNCTION_SOURCE = Path(bookhook.__file__).resolve().parent


# --- the metric names the code emits -------------------------------------------------------------

_Scope = ast.FunctionDef | ast.AsyncFunctionDef | None


@dataclass(frozen=True)
class _Site:
    call: ast.Call
    scope: _Scope
    path: Path


@dataclass(frozen=True)
class _Built:
    """A metric named f"{prefix}{<expression>}", the expression reading one field of a class."""

    prefix: str
    constructor: str
    field: str
    position: int
    transform: Callable[[str], str]


# The two names built at run time, and where their suffixes come from. If the code builds them
# differently, `emitted_metric_names` fails and names the expression: update this table.
_BUILT_NAMES = {
    # handlers/webhook.py: Booking{outcome.kind.capitalize()}, kind from pipeline.Outcome(status, kind, ...)
    "outcome.kind.capitalize()": _Built("Booking", "Outcome", "kind", 1, str.capitalize),
    # handlers/delivery_worker.py: Delivery{result.outcome}, from worker.WorkerResult(outcome, ...)
    "result.outcome": _Built("Delivery", "WorkerResult", "outcome", 0, str),
}


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    return call.args[position] if len(call.args) > position else None


class _CallSites(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.scopes: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.sites: list[_Site] = []

    def _visit_scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append(node)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = _visit_scope
    visit_AsyncFunctionDef = _visit_scope

    def visit_Call(self, node: ast.Call) -> None:
        self.sites.append(_Site(node, self.scopes[-1] if self.scopes else None, self.path))
        self.generic_visit(node)


def _call_sites() -> list[_Site]:
    sites: list[_Site] = []
    for path in sorted(FUNCTION_SOURCE.rglob("*.py")):
        visitor = _CallSites(path)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        sites.extend(visitor.sites)
    return sites


class _Strings:
    """The string values an expression can take: constants, conditionals, local assignments, and a
    function's parameter followed to every call of that function."""

    def __init__(self, sites: list[_Site]) -> None:
        self.sites = sites

    def of(self, node: ast.expr, scope: _Scope, path: Path, seen: frozenset[str] = frozenset()) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return self.of(node.body, scope, path, seen) | self.of(node.orelse, scope, path, seen)
        if isinstance(node, ast.Name) and scope is not None:
            assigned = [
                statement.value
                for statement in ast.walk(scope)
                if isinstance(statement, ast.Assign)
                and any(isinstance(target, ast.Name) and target.id == node.id for target in statement.targets)
            ]
            if assigned:
                return set().union(*(self.of(value, scope, path, seen) for value in assigned))
            parameters = [argument.arg for argument in scope.args.args]
            key = f"{scope.name}.{node.id}"
            if node.id in parameters and key not in seen:
                return self._parameter(scope, parameters, node.id, seen | {key})
        raise AssertionError(f"{path.name}: cannot tell which metric names {ast.unparse(node)!r} can be")

    def _parameter(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        parameters: list[str],
        name: str,
        seen: frozenset[str],
    ) -> set[str]:
        position = parameters.index(name) - (1 if parameters[:1] in (["self"], ["cls"]) else 0)
        values: set[str] = set()
        for site in self.sites:
            if _call_name(site.call) != function.name:
                continue
            argument = _argument(site.call, position, name)
            if argument is None:
                raise AssertionError(f"{site.path.name}: a call of {function.name} without {name}")
            values |= self.of(argument, site.scope, site.path, seen)
        return values


def _suffixes(built: _Built, sites: list[_Site], strings: _Strings) -> set[str]:
    values: set[str] = set()
    for site in sites:
        if _call_name(site.call) == built.constructor:
            argument = _argument(site.call, built.position, built.field)
            assert argument is not None, f"{site.path.name}: {built.constructor}() without {built.field}"
            values |= strings.of(argument, site.scope, site.path)
    assert values, f"no {built.constructor}({built.field}=...) found in the function's code"
    return {built.prefix + built.transform(value) for value in values}


def emitted_metric_names() -> set[str]:
    """Every metric name the deployed code can emit through Powertools (add_metric / single_metric).

    Powertools' own ColdStart metric is not among them: the dashboard does not show it.
    """
    sites = _call_sites()
    strings = _Strings(sites)
    names: set[str] = set()
    for site in sites:
        if _call_name(site.call) not in ("add_metric", "single_metric"):
            continue
        name = _argument(site.call, 0, "name")
        assert name is not None, f"{site.path.name}: a metric without a name"
        if isinstance(name, ast.JoinedStr):
            parts = name.values
            assert len(parts) == 2, f"{site.path.name}: {ast.unparse(name)}"
            prefix, formatted = parts
            assert isinstance(prefix, ast.Constant), ast.unparse(name)
            assert isinstance(formatted, ast.FormattedValue), ast.unparse(name)
            expression = ast.unparse(formatted.value)
            assert expression in _BUILT_NAMES, f"{site.path.name}: metric name built from {expression}"
            built = _BUILT_NAMES[expression]
            assert prefix.value == built.prefix, ast.unparse(name)
            names |= _suffixes(built, sites, strings)
        else:
            names |= strings.of(name, site.scope, site.path)
    return names


def _single_metric_dimensions(metric: str) -> set[str]:
    """The dimensions a single_metric call (or alarms.emit_single) naming `metric` adds
    (Powertools adds `service`)."""
    for site in _call_sites():
        called = _call_name(site.call)
        if called not in ("single_metric", "emit_single"):
            continue
        name = _argument(site.call, 0, "name")
        if isinstance(name, ast.Constant) and name.value == metric:
            if called == "emit_single":
                dimensions = _argument(site.call, 3, "dimensions")
            else:
                dimensions = _argument(site.call, 5, "default_dimensions")
            assert isinstance(dimensions, ast.Dict), ast.unparse(site.call)
            keys = {key.value for key in dimensions.keys if isinstance(key, ast.Constant)}
            assert all(isinstance(key, str) for key in keys), ast.unparse(dimensions)
            return {str(key) for key in keys} | {"service"}
    raise AssertionError(f"no single_metric(name={metric!r}) in the function's code")


@pytest.fixture(scope="module")
def emitted() -> set[str]:
    return emitted_metric_names()


def test_the_metric_scan_finds_what_the_readme_lists(emitted: set[str]) -> None:
    """The scan itself: the names the README's metrics paragraph promises are all found."""
    assert emitted >= {
        "WebhookReceived",
        "WebhookRejected",
        "BookingDelivered",
        "BookingDuplicate",
        "BookingQueued",
        "BookingIgnored",
        "BookingRejected",
        "DeliveryDeliveredLate",
        "DeliveryRetried",
        "DeliveryDeadLettered",
        "DeliveryRejected",
        "DeliveryRateLimited",
        "DeliveryPaced",
        "DeliveryPaused",
        "DeliveryStillWaiting",
        "DeliveryKept",
        "DeliveryRecorded",
        "DeliveryUnreadable",
        "DeliveryDeferred",
        "DeliveryConflict",
        "DeliveryAlreadyDelivered",
        "DeliveryAlreadyRejected",
        "DeliveryAlreadyDeadLettered",
        "BizKitHubRateLimited",
        "BizKitHubCallsAvoided",
        "BizKitHubPausedSeconds",
        "BizKitHubKeyRefused",
        "BizKitHubUnknownErrorCode",
        "EventIdUnknown",
        "EventIdNotRecorded",
        "PaidNotBooked",
    }
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) for name in emitted), emitted


# --- the dashboard ---------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_PSEUDO = {"AWS::Region": "eu-central-1", "AWS::StackName": "bookhook-test", "AWS::AccountId": "123456789012"}


def _stand_in(name: str) -> str:
    return _PSEUDO.get(name, f"__{name}__")


def _dashboard_source(template: dict[str, Any]) -> str:
    body = template["Resources"][DASHBOARD]["Properties"]["DashboardBody"]
    assert list(body) == ["Fn::Sub"], "the body is one !Sub string, so names resolve per stack"
    source = body["Fn::Sub"]
    assert isinstance(source, str)
    return source


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    rendered = _PLACEHOLDER.sub(lambda match: _stand_in(match.group(1)), _dashboard_source(template))
    body: dict[str, Any] = json.loads(rendered)
    return body


@dataclass(frozen=True)
class _Metric:
    namespace: str
    name: str
    dimensions: dict[str, str]
    widget: str


@dataclass(frozen=True)
class _Expression:
    id: str
    expression: str
    widget: str


def _metric_widgets(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (widget for widget in dashboard["widgets"] if widget["type"] == "metric")


def _metrics(dashboard: dict[str, Any]) -> Iterator[_Metric | _Expression]:
    for widget in _metric_widgets(dashboard):
        title = widget["properties"]["title"]
        for entry in widget["properties"]["metrics"]:
            if len(entry) == 1 and isinstance(entry[0], dict) and "expression" in entry[0]:
                yield _Expression(entry[0]["id"], entry[0]["expression"], title)
                continue
            fields = [part for part in entry if not isinstance(part, dict)]
            # No "." shorthand: each line names its namespace, metric and dimensions in full.
            assert "." not in fields, f"{title}: {entry}"
            namespace, name, *pairs = fields
            assert len(pairs) % 2 == 0, f"{title}: {entry}"
            yield _Metric(namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), title)


_SEARCH = re.compile(r"SEARCH\('(?P<query>[^']*)', '(?P<stat>[A-Za-z0-9.]+)', (?P<period>\d+)\)")
_SCHEMA = re.compile(r"\{(?P<schema>[^}]*)\}")
_SEARCHED_NAME = re.compile(r'MetricName="([^"]+)"')


def _searched(expression: str) -> list[tuple[set[str] | None, set[str]]]:
    """(schema dimension names or None, metric names) of each SEARCH in an expression."""
    found = []
    for search in _SEARCH.finditer(expression):
        query = search.group("query")
        schema = _SCHEMA.search(query)
        dimensions = None
        if schema:
            namespace, *names = [part.strip() for part in schema.group("schema").split(",")]
            assert namespace == NAMESPACE, expression
            dimensions = set(names)
        else:
            assert f'Namespace="{NAMESPACE}"' in query, expression
        found.append((dimensions, set(_SEARCHED_NAME.findall(query))))
    assert found, f"no SEARCH in {expression}"
    return found


def test_dashboard_body_is_valid_json_after_substitution(template: dict[str, Any]) -> None:
    dashboard = _dashboard(template)

    assert template["Resources"][DASHBOARD]["Type"] == "AWS::CloudWatch::Dashboard"
    assert dashboard["widgets"]
    for widget in dashboard["widgets"]:
        assert widget["type"] in {"metric", "alarm", "text"}
        assert widget["x"] >= 0, widget
        assert widget["x"] + widget["width"] <= 24, widget
        assert widget["height"] > 0
    for widget in _metric_widgets(dashboard):
        assert widget["properties"]["region"] == _PSEUDO["AWS::Region"], widget["properties"]["title"]


def test_dashboard_widgets_do_not_overlap(template: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for index, widget in enumerate(_dashboard(template)["widgets"]):
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, f"widget {index} overlaps {cells[(x, y)]}"
                cells[(x, y)] = f"widget {index}"


def test_dashboard_placeholders_name_the_stacks_own_resources(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    placeholders = set(_PLACEHOLDER.findall(_dashboard_source(template)))

    for placeholder in placeholders:
        if placeholder.startswith("AWS::"):
            assert placeholder in {"AWS::Region", "AWS::StackName"}
            continue
        logical_id, _, attribute = placeholder.partition(".")
        assert logical_id in resources, placeholder
        kind = resources[logical_id]["Type"]
        expected = {
            "AWS::CloudWatch::Alarm": "Arn",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Serverless::Function": "",
            "AWS::Serverless::HttpApi": "",
        }
        assert expected.get(kind) == attribute, f"{placeholder} ({kind})"
    name = template["Resources"][DASHBOARD]["Properties"]["DashboardName"]
    # Dashboards are global to the account: the region keeps two regions' stacks apart.
    assert name == {"Fn::Sub": "${AWS::StackName}-${AWS::Region}"}


def test_every_dashboard_metric_is_one_the_code_emits(template: dict[str, Any], emitted: set[str]) -> None:
    named: set[str] = set()
    for item in _metrics(_dashboard(template)):
        if isinstance(item, _Metric) and item.namespace == NAMESPACE:
            named.add(item.name)
        elif isinstance(item, _Expression):
            for _, names in _searched(item.expression):
                named |= names

    assert named
    assert named <= emitted, f"not emitted by the code: {sorted(named - emitted)}"


def test_every_metric_the_code_emits_is_on_the_dashboard(template: dict[str, Any], emitted: set[str]) -> None:
    """A metric added to the code without a place on the dashboard fails here: give it one."""
    named = {item.name for item in _metrics(_dashboard(template)) if isinstance(item, _Metric)}
    for item in _metrics(_dashboard(template)):
        if isinstance(item, _Expression):
            named |= {name for _, names in _searched(item.expression) for name in names}

    assert emitted <= named, f"not on the dashboard: {sorted(emitted - named)}"


def _emf_dimensions(metric: str) -> set[str]:
    """The webhook's Metrics object adds `source` to what it emits (WebhookReceived, Booking*); the
    worker's and the alarm signals carry `service` only, which Powertools adds to every metric."""
    per_sender = metric == "WebhookReceived" or metric.startswith("Booking")
    return {"service", "source"} if per_sender else {"service"}


def test_dashboard_metrics_carry_the_dimensions_emf_gives_them(template: dict[str, Any]) -> None:
    for item in _metrics(_dashboard(template)):
        if not isinstance(item, _Metric) or item.namespace != NAMESPACE:
            continue
        assert set(item.dimensions) == _emf_dimensions(item.name), item
        assert item.dimensions["service"] == "bookhook", item
        if "source" in item.dimensions:
            assert item.dimensions["source"] in SENDERS, item
        # Metrics with a dimension of their own (reason, code) are shown through SEARCH only.
        assert item.name not in {"WebhookRejected", "BizKitHubUnknownErrorCode"}, item


def test_every_sender_has_its_outcomes_on_the_dashboard(template: dict[str, Any]) -> None:
    outcomes = {"WebhookReceived", "BookingDelivered", "BookingDuplicate", "BookingQueued", "BookingIgnored"}
    shown = {
        (item.name, item.dimensions.get("source"))
        for item in _metrics(_dashboard(template))
        if isinstance(item, _Metric)
    }

    assert {(name, sender) for name in outcomes for sender in SENDERS} <= shown


def test_search_schemas_match_the_dimensions_the_code_emits(
    template: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # BizKitHubUnknownErrorCode's dimensions as Powertools writes them (through alarms._count).
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    record_delivery_signals(
        failure_reason=None, unknown_code="SOME_CODE", event_id_unknown=False, unrecorded=False
    )
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = {
        "BizKitHubUnknownErrorCode": {
            dimension
            for document in documents
            for dimension in document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
        },
        "WebhookRejected": _single_metric_dimensions("WebhookRejected"),
    }
    assert expected == {
        "BizKitHubUnknownErrorCode": {"code", "service"},
        "WebhookRejected": {"reason", "service", "source"},
    }

    searched = 0
    for item in _metrics(_dashboard(template)):
        if not isinstance(item, _Expression):
            continue
        assert len(item.expression) <= 1024, item  # CloudWatch's limit for a search query
        for dimensions, names in _searched(item.expression):
            assert 'service="bookhook"' in item.expression, item
            if dimensions is not None:
                (name,) = names
                assert dimensions == expected.get(name, _emf_dimensions(name)), item
                searched += 1
    assert searched >= 3


def test_expression_ids_are_unique_and_valid(template: dict[str, Any]) -> None:
    for widget in _metric_widgets(_dashboard(template)):
        ids = [entry[0]["id"] for entry in widget["properties"]["metrics"] if isinstance(entry[0], dict)]
        assert len(ids) == len(set(ids)), widget["properties"]["title"]
        assert all(re.fullmatch(r"[a-z][A-Za-z0-9_]*", identifier) for identifier in ids), ids


AWS_METRICS = {
    "AWS/Lambda": ({"FunctionName"}, {"Duration", "Errors", "Throttles", "ConcurrentExecutions"}),
    "AWS/SQS": (
        {"QueueName"},
        {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateAgeOfOldestMessage",
        },
    ),
    # HTTP APIs: 4xx and 5xx (REST APIs' are 4XXError and 5XXError), by ApiId.
    "AWS/ApiGateway": ({"ApiId"}, {"Count", "4xx", "5xx", "Latency", "IntegrationLatency"}),
}


def test_aws_metrics_are_named_as_their_services_publish_them(template: dict[str, Any]) -> None:
    functions = {f"__{name}__" for name in resources_of_type(template, "AWS::Serverless::Function")}
    queues = {f"__{name}.QueueName__" for name in resources_of_type(template, "AWS::SQS::Queue")}
    values = {"FunctionName": functions, "QueueName": queues, "ApiId": {f"__{API}__"}}
    shown: dict[str, set[str]] = {}

    for item in _metrics(_dashboard(template)):
        if not isinstance(item, _Metric) or item.namespace == NAMESPACE:
            continue
        dimension_names, metric_names = AWS_METRICS[item.namespace]
        assert item.name in metric_names, item
        assert set(item.dimensions) == dimension_names, item
        for dimension, value in item.dimensions.items():
            assert value in values[dimension], item
        shown.setdefault(item.namespace, set()).add(item.name)

    assert shown == {namespace: names for namespace, (_, names) in AWS_METRICS.items()}


@pytest.mark.parametrize(
    ("namespace", "metric", "stats"),
    [("AWS/Lambda", "Duration", {"p50", "p99"}), ("AWS/ApiGateway", "Latency", {"p50", "p99"})],
)
def test_durations_show_median_and_p99_for_each_function(
    template: dict[str, Any], namespace: str, metric: str, stats: set[str]
) -> None:
    by_dimension: dict[str, set[str]] = {}
    for widget in _metric_widgets(_dashboard(template)):
        for entry in widget["properties"]["metrics"]:
            if entry[:2] == [namespace, metric]:
                options = entry[-1] if isinstance(entry[-1], dict) else {}
                stat = options.get("stat", widget["properties"].get("stat"))
                by_dimension.setdefault(entry[3], set()).add(stat)

    expected_dimensions = 2 if namespace == "AWS/Lambda" else 1  # the webhook and the worker; the API
    assert len(by_dimension) == expected_dimensions
    assert all(found >= stats for found in by_dimension.values()), by_dimension


def test_the_alarm_widget_lists_every_alarm_in_the_template(template: dict[str, Any]) -> None:
    alarms = set(resources_of_type(template, "AWS::CloudWatch::Alarm"))
    (widget,) = [w for w in json.loads(_dashboard_source(template))["widgets"] if w["type"] == "alarm"]
    listed = widget["properties"]["alarms"]

    assert len(listed) == len(set(listed))
    assert {re.fullmatch(r"\$\{(\w+)\.Arn\}", arn).group(1) for arn in listed} == alarms  # type: ignore[union-attr]


def test_each_alarm_is_named_in_the_title_of_a_widget_explaining_it(template: dict[str, Any]) -> None:
    """The runbook sends the operator from an alarm to the widget that shows its metric."""
    titles = " ".join(widget["properties"].get("title", "") for widget in _dashboard(template)["widgets"])

    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm"):
        assert alarm.removesuffix("Alarm") in titles, alarm


def test_dashboard_url_output(template: dict[str, Any]) -> None:
    output = template["Outputs"]["OperationsDashboardUrl"]["Value"]

    assert output == {
        "Fn::Sub": "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        "#dashboards/dashboard/${OperationsDashboard}"
    }


# --- the HTTP API's access log ---------------------------------------------------------------------

# What the format may log: values API Gateway sets itself (see the comments in template.yaml).
ALLOWED_VARIABLES = {
    "$context.requestId",
    "$context.integration.requestId",
    "$context.identity.sourceIp",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.routeKey",
    "$context.status",
    "$context.protocol",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.integrationStatus",
    "$context.integrationErrorMessage",
    "$context.error.message",
}

# What it must never log: the caller's path or query string, any header value (senders' credentials
# travel in Authorization, Typeform-Signature and Stripe-Signature), authorizer or identity fields
# (other than the TCP source address), overrides, bodies, and anything that is not a $context value.
DENIED = [
    re.compile(r"\$context\.path\b"),
    re.compile(r"query", re.IGNORECASE),
    re.compile(r"header", re.IGNORECASE),
    re.compile(r"authoriz", re.IGNORECASE),
    re.compile(r"(request|response)Override", re.IGNORECASE),
    re.compile(r"\$context\.identity\.(?!sourceIp\b)"),
    re.compile(r"userAgent|domainName|domainPrefix|clientCert|cognito|caller|userArn", re.IGNORECASE),
    re.compile(r"customDomain", re.IGNORECASE),
    re.compile(r"\$(?!context\.)"),
    re.compile(r"\bbody\b", re.IGNORECASE),
]


def _resolve_format(value: Any) -> str:
    if isinstance(value, str):
        return value
    assert isinstance(value, dict), value
    assert list(value) == ["Fn::Join"], value
    delimiter, parts = value["Fn::Join"]
    assert all(isinstance(part, str) for part in parts), "only literal pieces, nothing resolved at deploy"
    return str(delimiter).join(parts)


def _access_log_format(template: dict[str, Any]) -> str:
    return _resolve_format(template["Resources"][API]["Properties"]["AccessLogSettings"]["Format"])


def _denied_in(log_format: str) -> list[str]:
    return [pattern.pattern for pattern in DENIED if pattern.search(log_format)]


def test_access_log_is_one_json_line_of_allowed_context_values(template: dict[str, Any]) -> None:
    log_format = _access_log_format(template)
    fields = json.loads(log_format)

    assert "\n" not in log_format  # API Gateway takes one line
    assert isinstance(fields, dict)
    assert all(re.fullmatch(r"\$context\.[A-Za-z.]+", value) for value in fields.values()), fields
    assert set(fields.values()) == ALLOWED_VARIABLES
    assert len(fields) == len(ALLOWED_VARIABLES)  # each once
    assert "$context.requestId" in fields.values()  # API Gateway requires it


def test_access_log_has_nothing_on_the_deny_list(template: dict[str, Any]) -> None:
    assert _denied_in(_access_log_format(template)) == []
    assert _denied_in(json.dumps(sorted(ALLOWED_VARIABLES))) == []


@pytest.mark.parametrize(
    "unsafe",
    [
        "$context.path",
        "$context.identity.userAgent",
        "$context.identity.caller",
        "$context.identity.clientCert.clientCertPem",
        "$context.domainName",
        "$context.authorizer.claims.sub",
        "$context.authorizer.error",
        "$context.requestOverride.header.authorization",
        "$context.requestOverride.querystring.apiKey",
        "$context.responseOverride.header.x",
        "$input.params('Stripe-Signature')",
        "$input.body",
        "$method.request.querystring.token",
        "$request.header.Authorization",
        "$stageVariables.secret",
    ],
)
def test_the_deny_list_catches_unsafe_fields(unsafe: str) -> None:
    assert _denied_in(f'{{"requestId":"$context.requestId","x":"{unsafe}"}}')


def test_access_log_group_has_retention_and_goes_with_the_stack(template: dict[str, Any]) -> None:
    group = template["Resources"][ACCESS_LOG_GROUP]
    settings = template["Resources"][API]["Properties"]["AccessLogSettings"]

    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["DeletionPolicy"] == "Delete"
    assert group["UpdateReplacePolicy"] == "Delete"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert group["Properties"]["LogGroupName"]["Fn::Sub"].startswith("/aws/vendedlogs/")
    assert settings["DestinationArn"] == {"Fn::GetAtt": [ACCESS_LOG_GROUP, "Arn"]}
    assert template["Outputs"]["WebhookApiAccessLogGroupName"]["Value"] == {"Ref": ACCESS_LOG_GROUP}


def test_every_log_group_has_retention_and_a_deletion_policy(template: dict[str, Any]) -> None:
    groups = resources_of_type(template, "AWS::Logs::LogGroup")

    assert len(groups) == 3
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}, logical_id
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete", logical_id


# --- throttling ------------------------------------------------------------------------------------

# API Gateway's default account quotas per region: a stage limit above them has no effect.
ACCOUNT_RATE = 10_000
ACCOUNT_BURST = 5_000


def _number(parameter: dict[str, Any], key: str) -> float:
    return float(parameter[key])


def test_throttling_parameters_have_sane_defaults_and_bounds(template: dict[str, Any]) -> None:
    rate = template["Parameters"]["ThrottlingRateLimit"]
    burst = template["Parameters"]["ThrottlingBurstLimit"]

    for parameter, account in ((rate, ACCOUNT_RATE), (burst, ACCOUNT_BURST)):
        assert parameter["Type"] == "Number"
        assert _number(parameter, "MinValue") >= 1  # 0 would refuse every booking
        assert _number(parameter, "MaxValue") <= account
        low, default, high = (_number(parameter, key) for key in ("MinValue", "Default", "MaxValue"))
        assert low <= default <= high
        assert parameter["Description"]
    assert (_number(rate, "Default"), _number(burst, "Default")) == (50, 100)
    assert _number(burst, "Default") >= _number(rate, "Default")


def test_default_limits_let_real_bursts_through_and_bound_a_flood(template: dict[str, Any]) -> None:
    rate = _number(template["Parameters"]["ThrottlingRateLimit"], "Default")
    burst = _number(template["Parameters"]["ThrottlingBurstLimit"], "Default")

    def admitted(seconds: float) -> float:
        """Requests a token bucket lets through to one route in `seconds`, starting full."""
        return burst + rate * seconds

    # A course opening: a few hundred bookings in ten minutes, all on one sender.
    assert admitted(600) >= 10 * 300
    # make bench's burst, 600 bookings in 10 s, even if every one came from one sender.
    assert admitted(10) >= 600
    # A flood: the three routes hold it to a few hundred invocations a second at most.
    assert 3 * rate <= 500


def test_throttling_is_wired_to_the_default_stage(
    template: dict[str, Any], translated: dict[str, Any]
) -> None:
    expected = {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }
    (stage,) = resources_of_type(translated, "AWS::ApiGatewayV2::Stage").values()
    api = template["Resources"][API]["Properties"]

    assert api["DefaultRouteSettings"] == expected
    assert stage["Properties"]["StageName"] == "$default"
    assert stage["Properties"]["DefaultRouteSettings"] == expected
    assert stage["Properties"]["AccessLogSettings"] == api["AccessLogSettings"]
