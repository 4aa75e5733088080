"""The ``closeloop`` command: local sandbox, demo, template preview, schemas, judgment, benchmark.

Installed with the project for developers and operators; never part of what is deployed.
"""

from __future__ import annotations

import argparse
import sys

from closeloop_cli import (
    demo,
    digest,
    doctor,
    erase,
    fuzz,
    judge,
    leads,
    openapi,
    preview,
    redrive,
    report,
    rules,
    sandbox,
    schemas,
    seed,
    status,
)

# Commands for operators of a stack (deployed or the sandbox), after the developers' ones.
OPERATIONS = (status, report, redrive, erase, rules, digest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="closeloop", description=__doc__)
    subparsers = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for command in (sandbox, demo, seed, preview, schemas, openapi, doctor, leads, fuzz, judge, *OPERATIONS):
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
