"""Load template.yaml the way CloudFormation sees it, for the wiring tests.

`load` parses the YAML with cfn-lint's CloudFormation-aware decoder (short tags such as !Ref, !GetAtt
and !Sub become their long forms), and `sam_transform` runs the SAM transform offline with
aws-sam-translator, the library `sam deploy` and CloudFormation use, so the tests can also inspect
the resources SAM generates (roles, Function URLs, permissions). Both ship in the SAM venv
(scripts/requirements-sam.txt).
"""

from __future__ import annotations

import copy
import json
import logging
import os
from typing import Any

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

# What SAM's managed policy loader would fetch from IAM: only the names the template uses.
_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
}


# The translator warns about usage metrics it never publishes offline.
logging.getLogger("samtranslator").setLevel(logging.ERROR)


class _OfflinePolicyLoader:
    def load(self) -> dict[str, str]:
        return dict(_MANAGED_POLICIES)


def load(path: str) -> dict[str, Any]:
    """The template as plain dicts and lists (tags in their long form); raises on a parse error."""
    template, matches = decode(path)
    if matches or template is None:
        raise ValueError(f"{path} does not parse: " + "; ".join(str(m) for m in matches))
    # Round-trip through JSON: the decoder's node types become plain dict/list/str.
    return json.loads(json.dumps(template))


def sam_transform(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM turns `template` into (no AWS calls)."""
    # The translator asks boto for the region of pseudo parameters; no credentials are needed.
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    values = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    values.update(parameters or {})
    template = copy.deepcopy(template)
    # Local CodeUri folders become S3 locations at `sam package`; the transform insists on those.
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(props.get("CodeUri", "s3://")).startswith("s3://"):
            props["CodeUri"] = f"s3://sam-build-artifacts/{name}.zip"
    return transform(template, values, _OfflinePolicyLoader())


def references(value: Any) -> set[str]:
    """Logical ids that `value` refers to (Ref, Fn::GetAtt, ${...} in Fn::Sub), pseudo parameters excluded."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for key, inner in v.items():
                if key == "Ref" and isinstance(inner, str):
                    found.add(inner)
                elif key == "Fn::GetAtt":
                    target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                    found.add(target)
                elif key == "Fn::Sub":
                    text, names = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
                    for part in text.split("${")[1:]:
                        name = part.split("}")[0].split(".")[0]
                        if not name.startswith("!") and name not in names:
                            found.add(name)
                    walk(names)
                else:
                    walk(inner)
        elif isinstance(v, list):
            for inner in v:
                walk(inner)

    walk(value)
    return {name for name in found if not name.startswith("AWS::")}


def dependency_cycle(template: dict[str, Any]) -> list[str] | None:
    """A cycle among the resources (references and DependsOn), or None; what CloudFormation refuses."""
    resources = template.get("Resources", {})
    edges: dict[str, set[str]] = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        edges[name] = {r for r in references(resource) | set(depends) if r in resources and r != name}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None
