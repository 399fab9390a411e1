"""CloudWatch alarms and SNS subscriptions (V8 and the alarm e-mails)."""

from __future__ import annotations

from typing import Any

from mathvisuals.deploy.aws.base import (
    Backoff,
    Gateway,
)
from mathvisuals.deploy.gateway import (
    AlarmInfo,
    SecretValue,
    SubscriptionInfo,
)


class AwsMonitoring(Gateway):
    service = "cloudwatch"

    def __init__(
        self,
        cloudwatch: Any,  # CloudWatch client
        sns: Any,  # SNS client
        *,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(backoff=backoff)
        self._cloudwatch, self._sns = cloudwatch, sns

    def alarms(self, prefix: str) -> list[AlarmInfo]:
        def pages() -> list[AlarmInfo]:
            paginator = self._cloudwatch.get_paginator("describe_alarms")
            return [
                AlarmInfo(str(alarm["AlarmName"]), str(alarm.get("StateValue", "")))
                for page in paginator.paginate(AlarmNamePrefix=prefix)
                for alarm in page.get("MetricAlarms", [])
            ]

        return self._call("DescribeAlarms", pages)

    def subscriptions(self, topic_arn: str) -> list[SubscriptionInfo]:
        def pages() -> list[SubscriptionInfo]:
            paginator = self._sns.get_paginator("list_subscriptions_by_topic")
            return [
                SubscriptionInfo(
                    protocol=str(item.get("Protocol", "")),
                    endpoint=str(item.get("Endpoint", "")),
                    # "PendingConfirmation" (or "Deleted") until the link in the mail is used.
                    confirmed=str(item.get("SubscriptionArn", "")).startswith("arn:"),
                )
                for page in paginator.paginate(TopicArn=topic_arn)
                for item in page.get("Subscriptions", [])
            ]

        return self._call("ListSubscriptionsByTopic", pages)

    def subscribe_email(self, topic_arn: str, address: str) -> None:
        # Not a secret, but kept out of error messages all the same (no scrubber entry).
        self._call(
            "Subscribe",
            lambda: self._sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=address),
            secrets=(SecretValue(address, mask=False),),
        )
