"""``python -m bench.aws_calls OUT -- <mathvisuals args>``: the CLI, counting AWS API calls.

A bench-only wrapper, so the product carries no counter: every boto3 Session made in this
process gets a botocore ``before-call`` handler (one event per API operation, not per retry),
and the counts per ``service.Operation`` are written to OUT as JSON when the CLI exits.
"""

from __future__ import annotations

import atexit
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import boto3.session

CALLS: Counter[str] = Counter()


def _count(event_name: str, **_: Any) -> None:
    # before-call.<service>.<Operation>
    CALLS[event_name.split(".", 1)[1]] += 1


_session_init = boto3.session.Session.__init__


def _counting_init(self: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
    _session_init(self, *args, **kwargs)
    self.events.register("before-call", _count)


def main() -> None:
    out = Path(sys.argv[1])
    args = sys.argv[sys.argv.index("--") + 1 :]
    boto3.session.Session.__init__ = _counting_init
    atexit.register(lambda: out.write_text(json.dumps(dict(CALLS), indent=1, sort_keys=True)))
    sys.argv = ["mathvisuals", *args]
    from mathvisuals.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
