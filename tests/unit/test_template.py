"""template.yaml: its shape, and that the SAM translator accepts it offline (cfn-lint: Makefile)."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from bookhook.settings import WebhookSettings, WorkerSettings
from bookhook_dev.testing.template import (
    TEMPLATE_PATH,
    HttpRoute,
    dynamodb_create_table_kwargs,
    dynamodb_ttl_attribute,
    function_environment,
    function_handler,
    http_routes,
)
from tests.unit.template_fixtures import resources_of_type

FUNCTION = "WebhookFunction"
TABLE = "IdempotencyTable"
ALLOWED_ACTIONS = {
    "secretsmanager:GetSecretValue",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("template tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for function in resources_of_type(template, "AWS::Serverless::Function").values():
        for policy in function["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"managed/named policy {policy!r}: use inline statements"
            statements.extend(policy["Statement"])
    return statements


def test_template_loads_with_short_tags_in_long_form(template: dict[str, Any]) -> None:
    assert TEMPLATE_PATH.name == "template.yaml"
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Description"]
    variables = template["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["BOOKING_SECRET_ARN"] == {"Ref": "BookingSecret"}


def test_sam_translator_accepts_the_template(translated: dict[str, Any]) -> None:
    types = {resource["Type"] for resource in translated["Resources"].values()}

    assert "AWS::Lambda::Function" in types
    assert "AWS::ApiGatewayV2::Api" in types
    assert not any(resource_type.startswith("AWS::Serverless::") for resource_type in types)


def test_routes_are_exactly_one_post_per_sender(template: dict[str, Any]) -> None:
    assert http_routes(template) == [
        HttpRoute(method="POST", path="/webhooks/zapier", function=FUNCTION),
        HttpRoute(method="POST", path="/webhooks/typeform", function=FUNCTION),
        HttpRoute(method="POST", path="/webhooks/stripe", function=FUNCTION),
    ]


def test_route_is_on_the_explicit_http_api(template: dict[str, Any]) -> None:
    event = template["Resources"][FUNCTION]["Properties"]["Events"]["ZapierWebhook"]
    assert event["Properties"]["ApiId"] == {"Ref": "WebhookApi"}
    assert template["Resources"]["WebhookApi"]["Type"] == "AWS::Serverless::HttpApi"


def test_runtime_is_recent_python_on_arm64(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    runtime = template["Resources"][FUNCTION]["Properties"].get("Runtime", function_globals["Runtime"])
    architectures = template["Resources"][FUNCTION]["Properties"].get(
        "Architectures", function_globals["Architectures"]
    )

    major, minor = (int(part) for part in runtime.removeprefix("python").split("."))
    assert runtime.startswith("python")
    assert (major, minor) >= (3, 12)
    assert architectures == ["arm64"]


def test_timeout_stays_below_the_http_api_limit(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Timeout"] < 30


def test_handler(template: dict[str, Any]) -> None:
    assert function_handler(template, FUNCTION) == "bookhook.handlers.webhook.lambda_handler"


def test_events_are_never_logged(template: dict[str, Any]) -> None:
    environment = function_environment(
        template, FUNCTION, refs={"BookingSecret": "arn", TABLE: "t", "DeliveryQueue": "https://q"}
    )
    assert environment["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert environment["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def test_every_statement_names_single_resources(template: dict[str, Any]) -> None:
    statements = _function_statements(template)

    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "NotResource" not in statement
        assert "NotAction" not in statement
        for resource in _as_list(statement["Resource"]):
            assert "*" not in repr(resource), statement
            assert isinstance(resource, dict), statement
            assert list(resource) in (["Ref"], ["Fn::GetAtt"]), statement


def test_only_the_idempotency_and_secret_actions_are_allowed(template: dict[str, Any]) -> None:
    actions = {action for s in _function_statements(template) for action in _as_list(s["Action"])}
    assert actions == ALLOWED_ACTIONS


def test_secret_read_is_scoped_to_the_one_secret(template: dict[str, Any]) -> None:
    by_action = {
        action: statement["Resource"]
        for statement in _function_statements(template)
        for action in _as_list(statement["Action"])
    }
    assert by_action["secretsmanager:GetSecretValue"] == {"Ref": "BookingSecret"}
    assert by_action["dynamodb:PutItem"] == {"Fn::GetAtt": [TABLE, "Arn"]}


def test_translated_roles_add_no_inline_wildcards(translated: dict[str, Any]) -> None:
    roles = resources_of_type(translated, "AWS::IAM::Role")

    assert roles
    for role in roles.values():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert set(_as_list(statement["Action"])) <= ALLOWED_ACTIONS
                assert "*" not in repr(statement["Resource"])


def test_idempotency_table_is_on_demand_with_expiration_ttl(template: dict[str, Any]) -> None:
    kwargs = dynamodb_create_table_kwargs(template, TABLE, "idempotency-test")
    properties = template["Resources"][TABLE]["Properties"]

    assert kwargs == {
        "TableName": "idempotency-test",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    assert dynamodb_ttl_attribute(template, TABLE) == "expiration"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_secret_is_created_without_a_value(template: dict[str, Any]) -> None:
    secret = template["Resources"]["BookingSecret"]

    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "SecretString" not in secret["Properties"]
    assert "GenerateSecretString" not in secret["Properties"]
    assert "webhookSecrets" in secret["Properties"]["Description"]


def test_log_group_has_retention_and_matches_the_function(template: dict[str, Any]) -> None:
    log_group = template["Resources"]["WebhookFunctionLogGroup"]["Properties"]
    function = template["Resources"][FUNCTION]["Properties"]

    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-webhook"}
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-webhook"}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "WebhookFunctionLogGroup"}


def test_outputs_are_present(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]

    assert set(outputs) >= {
        "ZapierWebhookUrl",
        "TypeformWebhookUrl",
        "StripeWebhookUrl",
        "BookingSecretArn",
        "IdempotencyTableName",
        "WebhookFunctionName",
    }
    for output, source in (
        ("ZapierWebhookUrl", "zapier"),
        ("TypeformWebhookUrl", "typeform"),
        ("StripeWebhookUrl", "stripe"),
    ):
        assert outputs[output]["Value"] == {
            "Fn::Sub": f"https://${{WebhookApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/webhooks/{source}"
        }


def test_environment_resolves_parameter_defaults_and_given_refs(template: dict[str, Any]) -> None:
    refs = {
        "BookingSecret": "arn:aws:secretsmanager:eu-central-1:1:secret:x",
        TABLE: "tbl",
        "LogLevel": "DEBUG",
        "DeliveryQueue": "https://sqs.eu-central-1.amazonaws.com/1/q",
    }

    environment = function_environment(template, FUNCTION, refs)

    assert environment["BOOKING_SECRET_ARN"] == refs["BookingSecret"]
    assert environment["IDEMPOTENCY_TABLE_NAME"] == "tbl"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "DEBUG"  # given ref beats the default
    assert environment["BIZKITHUB_BASE_URL"] == "https://api.bizkithub.com"
    assert environment["BIZKITHUB_AUTH_MODE"] == "query"
    assert environment["DEFAULT_TIMEZONE"] == ""
    assert environment["DEFAULT_CALENDAR_ID"] == ""
    assert environment["POWERTOOLS_SERVICE_NAME"] == "bookhook"


PHONE_TEST_REFS = {
    "BookingSecret": "arn:x",
    TABLE: "t",
    "DeliveryQueue": "https://sqs.eu-central-1.amazonaws.com/1/q",
}


def test_default_phone_region_parameter_reaches_the_webhook_function(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["DefaultPhoneRegion"]
    pattern = re.compile(parameter["AllowedPattern"])

    assert (parameter["Type"], parameter["Default"]) == ("String", "")
    assert [value for value in ("", "CZ", "SK", "US") if pattern.fullmatch(value)] == ["", "CZ", "SK", "US"]
    assert not any(pattern.fullmatch(value) for value in ("cz", "CZE", "C", "+420", "CZ ", "001"))
    variables = template["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["DEFAULT_PHONE_REGION"] == {"Ref": "DefaultPhoneRegion"}
    assert function_environment(template, FUNCTION, PHONE_TEST_REFS)["DEFAULT_PHONE_REGION"] == ""


@pytest.mark.parametrize(("value", "region"), [("", None), ("CZ", "CZ")])
def test_the_settings_read_what_the_phone_region_parameter_allows(
    template: dict[str, Any], value: str, region: str | None
) -> None:
    environment = function_environment(template, FUNCTION, PHONE_TEST_REFS | {"DefaultPhoneRegion": value})

    assert WebhookSettings.from_environ(environment).default_phone_region == region


def _inline_template(variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}, "NoDefault": {"Type": "String"}},
        "Globals": {"Function": {"Handler": "app.handler", "Environment": {"Variables": {"SHARED": "g"}}}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Variables": variables}},
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        },
    }


def test_environment_merges_globals_and_converts_scalars() -> None:
    template = _inline_template(
        {
            "SHARED": "own",
            "FLAG": True,
            "COUNT": 3,
            "STAGE": {"Ref": "Stage"},
            "URL": {"Fn::Sub": "x-${Stage}"},
        }
    )

    environment = function_environment(template, "Fn", refs={})

    assert environment == {"SHARED": "own", "FLAG": "true", "COUNT": "3", "STAGE": "dev", "URL": "x-dev"}
    assert function_handler(template, "Fn") == "app.handler"


@pytest.mark.parametrize(
    "value",
    [{"Ref": "NoDefault"}, {"Ref": "SomeResource"}, {"Fn::GetAtt": ["Table", "Arn"]}, None],
)
def test_environment_names_the_unresolvable_variable(value: Any) -> None:
    # Given a variable nothing can resolve
    template = _inline_template({"OK": "1", "BROKEN_VAR": value})

    # When / Then
    with pytest.raises(KeyError, match="BROKEN_VAR"):
        function_environment(template, "Fn", refs={"Unrelated": "x"})


def test_given_ref_resolves_what_the_defaults_cannot() -> None:
    template = _inline_template({"TABLE": {"Ref": "SomeResource"}})
    assert function_environment(template, "Fn", refs={"SomeResource": "tbl"})["TABLE"] == "tbl"


def test_wrong_resource_type_is_rejected() -> None:
    template = _inline_template({})
    with pytest.raises(ValueError, match="not AWS::DynamoDB::Table"):
        dynamodb_ttl_attribute(template, "Fn")
    assert dynamodb_ttl_attribute(template, "Table") is None
    with pytest.raises(KeyError, match="Missing"):
        function_handler(template, "Missing")


def test_paid_booking_rejections_raise_an_alarm(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["PaidBookingRejectedAlarm"]["Properties"]

    # The metric the handler emits for an acknowledged rejection, with the dimensions EMF gives it.
    assert (alarm["Namespace"], alarm["MetricName"]) == ("BookingWebhooks", "BookingRejected")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"service": "bookhook", "source": "stripe"}
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


def _statements_of(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    policies = template["Resources"][logical_id]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["Statement"]]


def test_the_webhook_function_sends_only_to_the_delivery_queue(template: dict[str, Any]) -> None:
    sends = [
        s["Resource"]
        for s in _statements_of(template, FUNCTION)
        if "sqs:SendMessage" in _as_list(s["Action"])
    ]

    assert sends == [{"Fn::GetAtt": ["DeliveryQueue", "Arn"]}]


def test_the_worker_requeues_and_dead_letters_only(template: dict[str, Any]) -> None:
    sends = [
        s["Resource"]
        for s in _statements_of(template, "DeliveryFunction")
        if "sqs:SendMessage" in _as_list(s["Action"])
    ]

    assert sends == [{"Fn::GetAtt": ["DeliveryQueue", "Arn"]}, {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}]


def test_the_worker_uses_only_the_table_actions_its_records_need(template: dict[str, Any]) -> None:
    """It leases and settles with UpdateItem, reads when a conditional write returned nothing, and
    puts only to rewrite a first-release record; it never deletes one."""
    actions = {
        action
        for s in _statements_of(template, "DeliveryFunction")
        if s["Resource"] == {"Fn::GetAtt": [TABLE, "Arn"]}
        for action in _as_list(s["Action"])
    }

    assert actions == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}


def test_the_workers_lease_outlives_its_timeout_and_ends_before_the_message_returns(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    lease = WorkerSettings.model_fields["delivery_lease_seconds"].default
    worker_timeout = resources["DeliveryFunction"]["Properties"]["Timeout"]

    assert worker_timeout < lease < resources["DeliveryQueue"]["Properties"]["VisibilityTimeout"]


def test_queues_keep_messages_two_weeks_encrypted_with_visibility_six_times_the_worker(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    worker_timeout = resources["DeliveryFunction"]["Properties"]["Timeout"]
    delivery = resources["DeliveryQueue"]["Properties"]
    dead = resources["DeadLetterQueue"]["Properties"]

    assert delivery["VisibilityTimeout"] >= 6 * worker_timeout
    for queue in (delivery, dead):
        assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert queue["SqsManagedSseEnabled"] is True
    assert delivery["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_the_worker_reports_partial_batches_and_is_capped(template: dict[str, Any]) -> None:
    queue_event = template["Resources"]["DeliveryQueueMapping"]["Properties"]

    assert queue_event["EventSourceArn"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}
    assert queue_event["FunctionName"] == {"Ref": "DeliveryFunction"}
    assert queue_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue_event["ScalingConfig"]["MaximumConcurrency"] == 2


@pytest.mark.parametrize(
    ("alarm", "metric"),
    [
        ("DeadLetterQueueNotEmptyAlarm", "ApproximateNumberOfMessagesVisible"),
        ("DeliveryBacklogAgeAlarm", "ApproximateAgeOfOldestMessage"),
        ("BizKitHubKeyRefusedAlarm", "BizKitHubKeyRefused"),
        ("EventIdUnknownAlarm", "EventIdUnknown"),
        ("EventIdNotRecordedAlarm", "EventIdNotRecorded"),
        ("BizKitHubRateLimitPausedAlarm", "BizKitHubPausedSeconds"),
    ],
)
def test_delivery_alarms_exist(template: dict[str, Any], alarm: str, metric: str) -> None:
    assert template["Resources"][alarm]["Properties"]["MetricName"] == metric


def test_no_role_gets_a_managed_policy_with_queue_wildcards(translated: dict[str, Any]) -> None:
    for role in resources_of_type(translated, "AWS::IAM::Role").values():
        assert not any("SQS" in str(arn) for arn in role["Properties"].get("ManagedPolicyArns", []))
