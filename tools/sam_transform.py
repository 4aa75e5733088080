"""Print the CloudFormation template the SAM transform makes of a SAM template, offline.

cfn-lint checks template.yaml as written; some problems only exist in what AWS::Serverless-2016-10-31
expands it into (the generated roles, permissions, event source mappings). The local sandbox provisions
from the same output (closeloop_cli.transform). Run with the interpreter of the SAM CLI's own environment
(.tools/sam), which carries the same translator CloudFormation uses:

    .tools/sam/bin/python tools/sam_transform.py template.yaml --region eu-west-1 > transformed.json
    ... | .tools/sam/bin/python tools/sam_transform.py - --parameter SenderAddress=a@b.example

Parameters take their defaults unless given with --parameter. A local CodeUri / ContentUri becomes
``s3://closeloop-artifacts/<the folder as written>``, so the S3 key still names the local folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse  # type: ignore[import-not-found]
from samtranslator.model.exceptions import InvalidDocumentException  # type: ignore[import-not-found]
from samtranslator.translator.transform import transform  # type: ignore[import-not-found]

LOCAL_CODE_BUCKET = "closeloop-artifacts"


def packaged(document: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri / ContentUri folders become S3 URIs, as ``sam package`` uploads and rewrites them."""
    sections = [(document.get("Globals") or {}).get("Function") or {}]
    sections += [resource.get("Properties") or {} for resource in (document.get("Resources") or {}).values()]
    for properties in sections:
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://{LOCAL_CODE_BUCKET}/{properties[key].rstrip('/') or '.'}"
    return document


class NoManagedPolicies:
    """The template names no AWS managed policy, so nothing needs IAM's list of them (no AWS call)."""

    def load(self) -> dict[str, str]:
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("template", help="a SAM template (YAML or JSON); - reads it from stdin")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--stack-name", default="closeloop")
    parser.add_argument("--account-id", default="123456789012")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE", help="(repeatable)")
    args = parser.parse_args(argv)
    # The translator asks a boto3 session for the region (no call is made); credentials are never used.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    text = sys.stdin.read() if args.template == "-" else Path(args.template).read_text(encoding="utf-8")
    document = packaged(yaml_parse(text))
    pseudo = {
        "AWS::Region": args.region,
        "AWS::AccountId": args.account_id,
        "AWS::Partition": "aws",
        "AWS::StackName": args.stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{args.region}:{args.account_id}:stack/{args.stack_name}/0",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NoValue": None,
    }
    values = {
        name: parameter["Default"]
        for name, parameter in (document.get("Parameters") or {}).items()
        if "Default" in parameter
    }
    values.update(pair.split("=", 1) for pair in args.parameter)
    try:
        transformed = transform(document, {**values, **pseudo}, NoManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"sam transform: {cause.message}", file=sys.stderr)
        return 1
    json.dump(transformed, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
