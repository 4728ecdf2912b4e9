"""Run the InfluxDB v2 API test double as a process (see __init__.py; this is not InfluxDB)."""

from __future__ import annotations

import argparse
import logging
import sys

from .profiles import DEFAULT_PROFILE, PROFILES
from .server import App, make_server
from .state import StateError


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.influxdb_test_server",
        description="InfluxDB v2 API test double (a stand-in for tests, not InfluxDB).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=DEFAULT_PROFILE,
        help="the InfluxDB release to behave like: 2.7 (v2.7.11, tokens readable) or 2.9 (v2.9.1, tokens hashed; "
        "the default)",
    )
    parser.add_argument("--state-file", help="JSON file that keeps orgs, buckets, tokens and points across restarts")
    parser.add_argument("--spec", help="InfluxDB OSS v2 OpenAPI document (default: ../shared/specs/ from the repo)")
    parser.add_argument(
        "--no-contract-validation",
        action="store_true",
        help="do not check requests/responses against the API description (for hosts without openapi-core)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    contract = None
    if not args.no_contract_validation:
        from .contract import Contract

        contract = Contract(args.spec)
        logging.info("validating against %s", contract.spec_path)
    else:
        logging.info("contract validation disabled")
    try:
        app = App(state_file=args.state_file, contract=contract, profile=args.profile)
    except StateError as exc:
        logging.error("%s", exc)
        return 1
    httpd = make_server(args.host, args.port, app)
    logging.info(
        "InfluxDB v2 API test double (profile %s, like InfluxDB %s) listening on http://%s:%d",
        app.profile.name,
        app.profile.version,
        args.host,
        args.port,
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
