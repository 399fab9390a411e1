"""AwsMonitoring: CloudWatch alarm states and the alarm topic's SNS subscriptions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mathvisuals.deploy.aws import AwsCallError, AwsMonitoring, Backoff, connect
from mathvisuals.deploy.errors import PreflightBlockedError
from mathvisuals.deploy.gateway import AlarmInfo, SubscriptionInfo
from tests.deploy.aws.support import ACCOUNT, REGION

PREFIX = "math-visuals-api-test-"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:math-visuals-api-alarms-test"
EMAIL = "ops@mathvisuals.no"


@pytest.fixture
def stubbed(sleeps: list[float]) -> Iterator[tuple[AwsMonitoring, Stubber, Stubber]]:
    """A gateway over real clients whose Stubbers answer before any I/O."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    with Stubber(cloudwatch) as alarms, Stubber(sns) as topics:
        yield AwsMonitoring(cloudwatch, sns, backoff=Backoff(sleep=sleeps.append)), alarms, topics
        alarms.assert_no_pending_responses()
        topics.assert_no_pending_responses()


# --- moto -----------------------------------------------------------------------------------


def put_alarm(client: Any, name: str) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        Namespace="MathVisuals/Api",
        MetricName="RedisErrors",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def test_alarms_with_the_prefix_and_their_states(aws: None) -> None:
    client = boto3.client("cloudwatch", region_name=REGION)
    for name in (f"{PREFIX}RedisErrorsAlarm-A1", f"{PREFIX}Http5xxAlarm-B2", "other-Alarm-C3"):
        put_alarm(client, name)
    client.set_alarm_state(
        AlarmName=f"{PREFIX}Http5xxAlarm-B2", StateValue="ALARM", StateReason="test"
    )
    monitoring = AwsMonitoring(client, boto3.client("sns", region_name=REGION))
    found = sorted(monitoring.alarms(PREFIX), key=lambda alarm: alarm.name)
    assert [alarm.name for alarm in found] == [
        f"{PREFIX}Http5xxAlarm-B2",
        f"{PREFIX}RedisErrorsAlarm-A1",
    ]
    assert found[0].state == "ALARM" and found[1].state != "ALARM"
    assert monitoring.alarms("nothing-") == []


def test_subscribe_and_list(aws: None) -> None:
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="math-visuals-api-alarms-test")["TopicArn"]
    monitoring = AwsMonitoring(boto3.client("cloudwatch", region_name=REGION), sns)
    assert monitoring.subscriptions(topic) == []
    monitoring.subscribe_email(topic, EMAIL)
    monitoring.subscribe_email(topic, EMAIL)  # AWS keeps one subscription per endpoint
    # moto confirms at once; AWS answers "PendingConfirmation" until the link is used.
    assert monitoring.subscriptions(topic) == [SubscriptionInfo("email", EMAIL, confirmed=True)]


def test_missing_topic_is_an_error_without_the_address(aws: None) -> None:
    sns = boto3.client("sns", region_name=REGION)
    monitoring = AwsMonitoring(boto3.client("cloudwatch", region_name=REGION), sns)
    with pytest.raises(AwsCallError) as raised:
        monitoring.subscriptions(TOPIC)
    assert raised.value.operation == "ListSubscriptionsByTopic"
    assert raised.value.code == "NotFound"
    with pytest.raises(AwsCallError) as raised:
        monitoring.subscribe_email(TOPIC, EMAIL)
    assert raised.value.code == "NotFound" and EMAIL not in str(raised.value)


def test_connect_wires_cloudwatch_and_sns() -> None:
    gateways = connect(REGION, endpoint_url="http://localhost:4566", credentials=("a", "b"))
    monitoring = gateways.monitoring
    assert isinstance(monitoring, AwsMonitoring)
    for client, service in ((monitoring._cloudwatch, "cloudwatch"), (monitoring._sns, "sns")):
        assert client.meta.service_model.service_name == service
        assert client.meta.region_name == REGION
        assert client.meta.endpoint_url == "http://localhost:4566"


# --- Stubber --------------------------------------------------------------------------------


def test_alarms_read_every_page(stubbed: tuple[AwsMonitoring, Stubber, Stubber]) -> None:
    monitoring, alarms, _ = stubbed
    alarms.add_response(
        "describe_alarms",
        {
            "MetricAlarms": [{"AlarmName": f"{PREFIX}A", "StateValue": "OK"}],
            "NextToken": "t",
        },
        {"AlarmNamePrefix": PREFIX},
    )
    alarms.add_response(
        "describe_alarms",
        {"MetricAlarms": [{"AlarmName": f"{PREFIX}B", "StateValue": "ALARM"}]},
        {"AlarmNamePrefix": PREFIX, "NextToken": "t"},
    )
    assert monitoring.alarms(PREFIX) == [
        AlarmInfo(f"{PREFIX}A", "OK"),
        AlarmInfo(f"{PREFIX}B", "ALARM"),
    ]


def test_subscriptions_read_every_page_and_pending_is_unconfirmed(
    stubbed: tuple[AwsMonitoring, Stubber, Stubber],
) -> None:
    monitoring, _, topics = stubbed

    def subscription(arn: str, protocol: str, endpoint: str) -> dict[str, str]:
        return {
            "SubscriptionArn": arn,
            "Owner": ACCOUNT,
            "Protocol": protocol,
            "Endpoint": endpoint,
            "TopicArn": TOPIC,
        }

    topics.add_response(
        "list_subscriptions_by_topic",
        {
            "Subscriptions": [subscription(f"{TOPIC}:1a2b", "email", EMAIL)],
            "NextToken": "t",
        },
        {"TopicArn": TOPIC},
    )
    topics.add_response(
        "list_subscriptions_by_topic",
        {"Subscriptions": [subscription("PendingConfirmation", "email", "new@mathvisuals.no")]},
        {"TopicArn": TOPIC, "NextToken": "t"},
    )
    assert monitoring.subscriptions(TOPIC) == [
        SubscriptionInfo("email", EMAIL, confirmed=True),
        SubscriptionInfo("email", "new@mathvisuals.no", confirmed=False),
    ]


def test_subscribe_sends_the_email_protocol(
    stubbed: tuple[AwsMonitoring, Stubber, Stubber],
) -> None:
    monitoring, _, topics = stubbed
    topics.add_response(
        "subscribe",
        {"SubscriptionArn": "pending confirmation"},
        {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": EMAIL},
    )
    monitoring.subscribe_email(TOPIC, EMAIL)


def test_subscribe_errors_never_echo_the_address(
    stubbed: tuple[AwsMonitoring, Stubber, Stubber],
) -> None:
    monitoring, _, topics = stubbed
    topics.add_client_error(
        "subscribe", "InvalidParameter", f"Invalid parameter: Email address {EMAIL} is blocked"
    )
    with pytest.raises(AwsCallError) as raised:
        monitoring.subscribe_email(TOPIC, EMAIL)
    assert raised.value.code == "InvalidParameter"
    assert EMAIL not in str(raised.value) and "***" in str(raised.value)


def test_denials_name_the_action_of_each_service(
    stubbed: tuple[AwsMonitoring, Stubber, Stubber],
) -> None:
    monitoring, alarms, topics = stubbed
    alarms.add_client_error("describe_alarms", "AccessDenied", "denied", http_status_code=403)
    topics.add_client_error("subscribe", "AuthorizationError", "denied", http_status_code=403)
    with pytest.raises(PreflightBlockedError, match=r"cloudwatch:DescribeAlarms"):
        monitoring.alarms(PREFIX)
    with pytest.raises(PreflightBlockedError, match=r"sns:Subscribe") as raised:
        monitoring.subscribe_email(TOPIC, EMAIL)
    assert EMAIL not in str(raised.value) and "sns:Subscribe" in raised.value.hint


def test_throttled_alarms_are_retried(
    stubbed: tuple[AwsMonitoring, Stubber, Stubber], sleeps: list[float]
) -> None:
    monitoring, alarms, _ = stubbed
    alarms.add_client_error("describe_alarms", "Throttling", "Rate exceeded")
    alarms.add_response("describe_alarms", {"MetricAlarms": []}, {"AlarmNamePrefix": PREFIX})
    assert monitoring.alarms(PREFIX) == []
    assert sleeps == [1.0]
