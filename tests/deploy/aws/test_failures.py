"""Network failures and broken local setups: each becomes one exit-5 line naming its cause."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
    SSLError,
)
from botocore.parsers import ResponseParserError

from mathvisuals.deploy.aws import failures
from mathvisuals.deploy.errors import NetworkError

URL = "https://sts.eu-north-1.amazonaws.com/"


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (ReadTimeoutError(endpoint_url=URL, error="x"), f"no answer from {URL} within 5 s"),
        (ConnectTimeoutError(endpoint_url=URL, error="x"), f"cannot connect to {URL}"),
        (SSLError(endpoint_url=URL, error="x"), "TLS to"),
        (ResponseParserError("Unable to parse response"), "not AWS's"),
        (
            HTTPClientError(error=OSError("Could not find a suitable TLS CA certificate bundle")),
            "CA bundle",
        ),
    ],
)
def test_network_failures_are_network_errors(exc: Exception, needle: str) -> None:
    found = failures.translate("GetCallerIdentity", exc)
    assert isinstance(found, NetworkError) and found.exit_code == 5
    assert str(found).startswith("GetCallerIdentity: ") and needle in str(found)
    assert found.hint


def test_other_botocore_errors_are_left_to_the_caller() -> None:
    assert failures.translate("PutSecretValue", ParamValidationError(report="bad")) is None


def operation(*, streaming: bool) -> SimpleNamespace:
    service = SimpleNamespace(service_name="sts")
    return SimpleNamespace(has_streaming_output=streaming, service_model=service)


def test_an_html_page_never_reaches_the_parser() -> None:
    page = {"body": b"\n  <!DOCTYPE html><html></html>", "status_code": 403}
    with pytest.raises(failures.NotAwsAnswer, match="HTTP 403 with an HTML page"):
        failures.refuse_html(operation(streaming=False), page)
    failures.refuse_html(operation(streaming=False), {"body": b"<GetCallerIdentityResponse/>"})
    # An object's bytes (S3 GetObject) are the caller's data, whatever they look like.
    failures.refuse_html(operation(streaming=True), {"body": b"<html></html>"})


def test_a_missing_ca_bundle_is_named(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"no-ca\.pem does not exist"):
        failures.check_ca_bundle(f"{tmp_path}/no-ca.pem")
    failures.check_ca_bundle(None)


def test_a_deadline_raised_inside_botocores_send_is_the_deadline() -> None:
    """botocore wraps any exception of its HTTP send in HTTPClientError; the deadline's own
    WaitTimeoutError (exit 9) must come out, not "GetCallerIdentity failed" (exit 7)."""
    from botocore.exceptions import HTTPClientError

    from mathvisuals.deploy.errors import WaitTimeoutError

    deadline = WaitTimeoutError("plan did not finish within its deadline of 1 min")
    found = failures.translate("GetCallerIdentity", HTTPClientError(error=deadline))
    assert found is deadline and found.exit_code == 9
