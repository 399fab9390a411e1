"""Networks that stall or lie, and local AWS setups that cannot work: one line each (exit 5).

Every client gets connect and read timeouts and botocore's standard retries with a small
``max_attempts``; a stalled endpoint therefore fails in seconds, not minutes. A proxy's HTML page
is refused before botocore parses it (it would otherwise become an empty result or a misleading
``403`` denial). Each failure becomes a :class:`~mathvisuals.deploy.errors.NetworkError` or a
:class:`~mathvisuals.deploy.errors.CredentialsError` naming the cause, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ConfigParseError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ProfileNotFound,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)
from botocore.parsers import ResponseParserError

from mathvisuals.deploy.errors import CredentialsError, DeployError, NetworkError

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 5
# Services whose answers legitimately take longer: Lambda's synchronous Invoke (verify's in-VPC
# round trip) waits for the function itself; IAM's SimulatePrincipalPolicy evaluates every action.
SLOW_READ_TIMEOUT_S = {"lambda": 70, "iam": 20}
MAX_ATTEMPTS = 3  # in all: the first try and two retries (botocore's standard mode, jittered)
NETWORK_HINT = "check the network, HTTPS_PROXY/HTTP_PROXY and AWS_ENDPOINT_URL"


def client_config(region: str, service: str, *, path_style: bool) -> Config:
    """Timeouts and bounded retries for one service's client."""
    read = SLOW_READ_TIMEOUT_S.get(service, READ_TIMEOUT_S)
    return Config(
        region_name=region,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=read,
        # Emulators serve buckets by path, not by virtual host.
        s3={"addressing_style": "path"} if path_style else None,
    )


class NotAwsAnswer(BotoCoreError):  # type: ignore[misc]
    """An HTTP answer that is a web page, not an AWS API response (a proxy, a captive portal)."""

    fmt = "the {service} endpoint answered HTTP {status} with an HTML page, not an AWS response"


def _looks_like_html(body: object) -> bool:
    if not isinstance(body, bytes | bytearray):
        return False
    start = bytes(body[:64]).lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def refuse_html(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore ``before-parse`` handler: an HTML page never reaches the parser."""
    if operation_model.has_streaming_output:
        return
    if _looks_like_html(response_dict.get("body")):
        raise NotAwsAnswer(
            service=operation_model.service_model.service_name,
            status=response_dict.get("status_code", "?"),
        )


def check_ca_bundle(path: str | None) -> None:
    """A CA bundle that does not exist fails every HTTPS call; say so before the first one."""
    if path and not Path(path).is_file():
        raise NetworkError(
            f"the CA bundle {path} does not exist (AWS_CA_BUNDLE or ca_bundle in the AWS config)"
        ).with_hint("point AWS_CA_BUNDLE at a PEM file, or unset it")


def profile_missing(exc: ProfileNotFound, known: list[str]) -> CredentialsError:
    name = str(getattr(exc, "kwargs", {}).get("profile", "")) or "?"
    shown = ", ".join(sorted(known)) or "none"
    error = CredentialsError(f"the AWS profile {name!r} does not exist (known profiles: {shown})")
    error.hint = "pass an existing --profile, or fix or unset AWS_PROFILE"
    return error


def unreadable_setup(exc: Exception) -> CredentialsError:
    """The AWS config or credentials file exists but cannot be read or parsed."""
    if isinstance(exc, ConfigParseError):
        path = str(getattr(exc, "kwargs", {}).get("path", "")) or "the AWS config"
        problem = f"cannot parse {path}"
    elif isinstance(exc, OSError):
        problem = f"cannot read {exc.filename or 'the AWS config'}: {exc.strerror}"
    elif isinstance(exc, UnicodeDecodeError):
        problem = f"the AWS config or credentials file is not UTF-8 text (byte {exc.start})"
    else:
        problem = f"the AWS config cannot be used ({type(exc).__name__})"
    error = CredentialsError(problem)
    error.hint = "fix the file, or point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE elsewhere"
    return error


def invalid_endpoint(exc: ValueError) -> NetworkError:
    detail = str(exc).removeprefix("Invalid endpoint: ")
    error = NetworkError(f"the AWS endpoint URL {detail!r} is not a valid URL")
    error.hint = "set AWS_ENDPOINT_URL to http(s)://host[:port], or unset it"
    return error


def translate(operation: str, exc: Exception) -> DeployError | None:
    """The one line for a network failure, or None when ``exc`` is not one."""
    kwargs: dict[str, Any] = getattr(exc, "kwargs", {}) or {}
    endpoint = str(kwargs.get("endpoint_url", "")) or "the endpoint"
    wrapped = kwargs.get("error")
    if isinstance(wrapped, DeployError):
        return wrapped  # the command's deadline fired inside botocore's HTTP send
    if isinstance(exc, NotAwsAnswer | ResponseParserError):
        what = str(exc) if isinstance(exc, NotAwsAnswer) else "an answer that is not AWS's"
        message = f"{operation}: {what}"
        hint = "a proxy or captive portal is in the way? " + NETWORK_HINT
    elif isinstance(exc, ReadTimeoutError):
        message = (
            f"{operation}: no answer from {endpoint} within {READ_TIMEOUT_S} s "
            f"({MAX_ATTEMPTS} attempts)"
        )
        hint = NETWORK_HINT
    elif isinstance(exc, ConnectTimeoutError):
        message = f"{operation}: cannot connect to {endpoint} within {CONNECT_TIMEOUT_S} s"
        hint = NETWORK_HINT
    elif isinstance(exc, ProxyConnectionError):
        message = f"{operation}: cannot connect to the proxy {kwargs.get('proxy_url', '')}"
        hint = "check HTTPS_PROXY/HTTP_PROXY"
    elif isinstance(exc, SSLError):
        message = f"{operation}: TLS to {endpoint} failed (certificate not trusted?)"
        hint = "check AWS_CA_BUNDLE and the proxy's certificate"
    elif isinstance(exc, EndpointConnectionError | ConnectionClosedError):
        message = f"{operation}: cannot connect to {endpoint}"
        hint = NETWORK_HINT
    elif isinstance(exc, HTTPClientError) and "CA certificate bundle" in str(exc):
        message = f"{operation}: the CA bundle (AWS_CA_BUNDLE) does not exist"
        hint = "point AWS_CA_BUNDLE at a PEM file, or unset it"
    elif isinstance(exc, ConfigParseError):
        return unreadable_setup(exc)
    else:
        return None
    return NetworkError(message).with_hint(hint)
