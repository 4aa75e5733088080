"""From a SAM template to the plain CloudFormation the sandbox provisions, with maintained parts only.

``AWS::LanguageExtensions`` (``Fn::ForEach``, ``Fn::Length``, ...) is expanded in process by cfn-lint,
which the project already has. ``AWS::Serverless-2016-10-31`` is expanded by aws-sam-translator, the
library CloudFormation itself runs: it lives in the SAM CLI's own environment (``.tools/sam``, made by
``make tools``) because its pins conflict with the project's, so it runs there as a subprocess
(``tools/sam_transform.py``, a few seconds). Its output is cached under ``.aws-sam/sandbox/`` beside the
template, keyed by the template's text, the region, the stack name and the parameter values: provisioning
the same stack again reads JSON and imports neither cfn-lint nor the translator.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from closeloop_cli.cfn import TemplateError, load_template_text, resolve_parameters

REPO_ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = REPO_ROOT / ".tools" / "sam" / "bin" / "python"
SAM_TRANSFORM_SCRIPT = REPO_ROOT / "tools" / "sam_transform.py"
SAM_PINS = REPO_ROOT / "tools" / "sam.txt"
# Where tools/sam_transform.py "uploads" a local CodeUri: its S3 key is the folder as written.
LOCAL_CODE_BUCKET = "closeloop-artifacts"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
SAM_TRANSFORM_TIMEOUT_SECONDS = 120


def cloudformation(
    template: Path | Mapping[str, Any],
    overrides: Mapping[str, str],
    *,
    fallbacks: Mapping[str, str],
    region: str,
    stack_name: str,
    account_id: str,
    cache_dir: Path,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The template as plain CloudFormation (no transform left), and its parameter values.

    ``fallbacks`` are values for declared parameters that have no override, in place of their default
    (the sandbox's local values: a sender address, a reply domain). A template given as a path is read
    as text; a mapping (already loaded) is used as it is. Unknown or invalid parameter overrides raise
    ``ParameterError`` before any transform runs.
    """
    text = template.read_text(encoding="utf-8") if isinstance(template, Path) else None
    source = text if text is not None else json.dumps(template, sort_keys=True, default=str)
    cached = cache_dir / f"{_cache_key(source, overrides, fallbacks, region, stack_name, account_id)}.json"
    if cached.exists():
        document: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return document, resolve_parameters(document, _with_fallbacks(document, overrides, fallbacks))
    document = load_template_text(text) if text is not None else copy.deepcopy(dict(template))
    values = resolve_parameters(document, _with_fallbacks(document, overrides, fallbacks))
    transforms = _transforms(document)
    if LANGUAGE_EXTENSIONS in transforms:
        document = _language_extensions(document, values, region)
    if SAM_TRANSFORM in transforms:
        document = _sam_transform(document, values, region, stack_name, account_id)
    _write_atomically(cached, json.dumps(document, indent=1, default=str))
    return document, values


def _with_fallbacks(
    document: Mapping[str, Any], overrides: Mapping[str, str], fallbacks: Mapping[str, str]
) -> dict[str, str]:
    declared = document.get("Parameters") or {}
    missing = {name: value for name, value in fallbacks.items() if name in declared and name not in overrides}
    return {**missing, **overrides}


def _transforms(document: Mapping[str, Any]) -> list[str]:
    declared = document.get("Transform") or []
    names = [declared] if isinstance(declared, str) else list(declared)
    unknown = [name for name in names if name not in (SAM_TRANSFORM, LANGUAGE_EXTENSIONS)]
    if unknown:
        raise TemplateError(f"the sandbox cannot run the transform(s) {', '.join(map(str, unknown))}")
    return names


def _language_extensions(document: dict[str, Any], values: Mapping[str, str], region: str) -> dict[str, Any]:
    """``Fn::ForEach`` and the other language extensions expanded by cfn-lint, with these parameter values."""
    from cfnlint.template import Template
    from cfnlint.template.transforms._language_extensions import language_extension

    for name, value in values.items():  # a collection taken from a parameter uses the value given
        document["Parameters"][name] = {**(document["Parameters"][name] or {}), "Default": value}
    errors, expanded = language_extension(Template("", document, [region]))
    if errors or expanded is None:
        raise TemplateError("; ".join(error.message for error in errors) or "AWS::LanguageExtensions failed")
    result: dict[str, Any] = json.loads(json.dumps(expanded, default=str))
    remaining = [name for name in _transforms(result) if name != LANGUAGE_EXTENSIONS]
    if remaining:
        result["Transform"] = remaining
    else:
        result.pop("Transform", None)
    return result


def _sam_transform(
    document: dict[str, Any], values: Mapping[str, str], region: str, stack_name: str, account_id: str
) -> dict[str, Any]:
    if not SAM_PYTHON.exists():
        raise TemplateError(
            f"the SAM transform runs in the SAM CLI's environment; {SAM_PYTHON} is missing: run make tools"
        )
    command = [
        str(SAM_PYTHON),
        str(SAM_TRANSFORM_SCRIPT),
        "-",
        "--region",
        region,
        "--stack-name",
        stack_name,
        "--account-id",
        account_id,
        *(argument for name, value in values.items() for argument in ("--parameter", f"{name}={value}")),
    ]
    result = subprocess.run(
        command,
        input=json.dumps(document, default=str),
        capture_output=True,
        text=True,
        timeout=SAM_TRANSFORM_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise TemplateError(f"the SAM transform failed: {result.stderr.strip() or result.returncode}")
    transformed: dict[str, Any] = json.loads(result.stdout)
    return transformed


def _cache_key(
    source: str,
    overrides: Mapping[str, str],
    fallbacks: Mapping[str, str],
    region: str,
    stack_name: str,
    account_id: str,
) -> str:
    digest = hashlib.sha256()
    # How the transforms run is part of the key: the script, the translator's pins, cfn-lint's version.
    tools = b"".join(path.read_bytes() for path in (SAM_TRANSFORM_SCRIPT, SAM_PINS) if path.exists())
    values = json.dumps([dict(overrides), dict(fallbacks), version("cfn-lint")], sort_keys=True)
    for part in (source.encode(), tools, values.encode()):
        digest.update(hashlib.sha256(part).digest())
    digest.update(f"{region}\0{stack_name}\0{account_id}".encode())
    return digest.hexdigest()[:32]


def _write_atomically(path: Path, text: str) -> None:
    """Concurrent provisioning (test workers) may write one entry at once: each replaces it whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def local_code_path(code: Any, base_dir: Path) -> Path | None:
    """The folder of a function's ``Code`` when it is a local ``CodeUri`` the transform "uploaded"."""
    if isinstance(code, Mapping) and code.get("S3Bucket") == LOCAL_CODE_BUCKET:
        return (base_dir / str(code.get("S3Key", "."))).resolve()
    return None
