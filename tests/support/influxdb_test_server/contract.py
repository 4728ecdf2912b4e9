"""Validation of every request and response of the test double against the API contract.

The contract is InfluxData's OpenAPI description of InfluxDB OSS v2
(``influxdb-oss-v2.yml``), kept beside every clone of this repository in
``../shared/specs/`` (relative to the repository root). It is loaded once when the
test double starts (about a second) and checked with ``openapi-core``.

Two departures from a literal reading of the document, both because the document
says something the real server does not do:

* the document's global ``TokenAuthentication`` requirement also covers ``/health``,
  ``/ping``, ``/ready`` and ``/api/v2/setup``, which the real server serves without a
  token; token checks are therefore left to the test double's own rules (which
  answer 401 exactly where the real server does), not to the contract check;
* ``POST /write`` declares its ``text/plain`` body as ``format: byte`` (base64), but
  clients send line protocol as plain text; the format is dropped from that one
  schema when the document is loaded;
* ``POST /query`` declares its CSV answer as ``application/csv``; the server sends
  ``text/csv; charset=utf-8`` (flux ``csv/dialect.go``, ``SetHeaders``), and so does
  the test double; that answer is checked as the document's ``application/csv``.
"""

from __future__ import annotations

import os
from pathlib import Path

SPEC_RELATIVE_TO_REPO = Path("..") / "shared" / "specs" / "influxdb-oss-v2.yml"
REPO_ROOT = Path(__file__).resolve().parents[3]


def default_spec_path():
    """``../shared/specs/influxdb-oss-v2.yml`` from the repository root (or $INFLUXDB_TEST_SERVER_SPEC)."""
    return Path(os.environ.get("INFLUXDB_TEST_SERVER_SPEC") or (REPO_ROOT / SPEC_RELATIVE_TO_REPO)).resolve()


class ContractViolation(Exception):
    """A request or response that does not match the API contract."""


class Contract:
    """The loaded API description; ``check_request`` / ``check_response`` raise ContractViolation."""

    def __init__(self, spec_path=None):
        import yaml
        from openapi_core import Config, OpenAPI
        from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
        from openapi_core.testing import MockRequest, MockResponse
        from openapi_core.validation.request.exceptions import SecurityValidationError

        self.spec_path = Path(spec_path) if spec_path else default_spec_path()
        if not self.spec_path.is_file():
            raise FileNotFoundError("InfluxDB v2 API description not found at %s" % self.spec_path)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(self.spec_path) as handle:
            document = yaml.load(handle, Loader=loader)
        write_body = document["paths"]["/write"]["post"]["requestBody"]["content"]["text/plain"]["schema"]
        write_body.pop("format", None)
        # The published document itself does not pass strict OpenAPI 3.0 validation
        # (a schema uses `required: true` on a property), so the document is not
        # re-validated; requests and responses are.
        self.openapi = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
        self._request_cls = MockRequest
        self._response_cls = MockResponse
        self._security_error = SecurityValidationError
        # A path or method the document does not describe: the server answers 404/405 and
        # the document has nothing to say about either.
        self._undescribed = (PathNotFound, OperationNotFound)

    def _request(self, host_url, method, path, query, headers, body, content_type):
        if (content_type or "").startswith("application/vnd.flux") and isinstance(body, bytes):
            # A raw Flux script is the document's `type: string`; openapi-core has no
            # decoder for this media type and would compare the raw bytes.
            body = body.decode("utf-8")
        return self._request_cls(
            host_url,
            method,
            path,
            args=query,
            headers=headers,
            data=body or b"",
            content_type=content_type or "",
        )

    def check_request(self, host_url, method, path, query, headers, body, content_type):
        request = self._request(host_url, method, path, query, headers, body, content_type)
        errors = [
            error
            for error in self.openapi.iter_request_errors(request)
            if not isinstance(error, (self._security_error, *self._undescribed))
        ]
        if errors:
            raise ContractViolation("; ".join(_describe(error) for error in errors))

    def check_response(
        self, host_url, method, path, query, headers, body, content_type, status, response_body, response_content_type
    ):
        request = self._request(host_url, method, path, query, headers, body, content_type)
        if response_content_type == "text/csv":
            # The document's `application/csv` string; openapi-core has no CSV decoder and
            # would compare the raw bytes with `type: string`.
            response_content_type = "application/csv"
            response_body = (response_body or b"").decode("utf-8")
        response = self._response_cls(response_body or b"", status_code=status, content_type=response_content_type)
        errors = [
            error
            for error in self.openapi.iter_response_errors(request, response)
            if not isinstance(error, self._undescribed)
        ]
        if errors:
            raise ContractViolation("; ".join(_describe(error) for error in errors))


def _describe(error):
    return " ".join(str(error).split())
