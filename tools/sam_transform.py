"""Print the CloudFormation template the SAM transform makes of template.yaml, offline (for cfn-lint).

cfn-lint checks template.yaml as written; some problems only exist in what AWS::Serverless-2016-10-31
expands it into (the generated roles, permissions, event source mappings). Run with the interpreter of
the SAM CLI's own environment (.tools/sam), which carries the same translator CloudFormation uses:

    .tools/sam/bin/python tools/sam_transform.py template.yaml --region eu-west-1 > transformed.json
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


def packaged(document: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri / ContentUri folders become S3 URIs, as ``sam package`` uploads and rewrites them."""
    sections = [(document.get("Globals") or {}).get("Function") or {}]
    sections += [resource.get("Properties") or {} for resource in (document.get("Resources") or {}).values()]
    for properties in sections:
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://closeloop-artifacts/{properties[key].strip('/') or 'root'}"
    return document


class NoManagedPolicies:
    """The template names no AWS managed policy, so nothing needs IAM's list of them (no AWS call)."""

    def load(self) -> dict[str, str]:
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("template", type=Path)
    parser.add_argument("--region", default="eu-west-1")
    args = parser.parse_args(argv)
    # The translator asks a boto3 session for the region (no call is made); credentials are never used.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    document = packaged(yaml_parse(args.template.read_text(encoding="utf-8")))
    pseudo = {
        "AWS::Region": args.region,
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "AWS::StackName": "closeloop",
        "AWS::StackId": f"arn:aws:cloudformation:{args.region}:123456789012:stack/closeloop/0",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NoValue": None,
    }
    defaults = {
        name: parameter["Default"]
        for name, parameter in (document.get("Parameters") or {}).items()
        if "Default" in parameter
    }
    try:
        transformed = transform(document, {**defaults, **pseudo}, NoManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"sam transform: {cause.message}", file=sys.stderr)
        return 1
    json.dump(transformed, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
