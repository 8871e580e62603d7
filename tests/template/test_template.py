#!/usr/bin/env python3
"""Checks of template.yaml that cfn-lint and `sam validate --lint` cannot make: the wiring.

Every route of the architecture contract is followed from the browser's side (CloudFront behaviour →
origin → HttpApi route → integration → function, or → the chat Function URL) and must end at the
function that serves it; each function's IAM role may read only the app secret (logging aside); no
secret value is written in the template; the chat URL streams and nothing buffered is wired to the
streaming copy; the resources form no dependency cycle once SAM has transformed them (cfn-lint does
not see SAM-generated resources, and CloudFormation would refuse the stack only at deploy time).

    python tests/template/test_template.py [template.yaml]

Run with the SAM venv's python (scripts/requirements-sam.txt: cfn-lint, aws-sam-translator).
Prints one line per check and `template: N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cfn  # noqa: E402  (helpers beside this file)
from checks import Skip, check, expect, run_all  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "template.yaml"

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SECRET_KEYS = {"DATABASE_URL", "OPENAI_API_KEY", "AUTH_JWT_SECRET"}
HTTP_API_TIMEOUT_SECONDS = 30

# The contract's routes, as the browser (or an MCP client) sends them to the site, and the function
# that must answer. "site" is the S3 origin (the frontend).
CONTRACT = [
    ("GET", "/api/health", "TasksFunction"),
    ("GET", "/api/openapi.json", "TasksFunction"),
    ("GET", "/api/tasks", "TasksFunction"),
    ("POST", "/api/tasks", "TasksFunction"),
    ("GET", "/api/tasks/7", "TasksFunction"),
    ("PATCH", "/api/tasks/7", "TasksFunction"),
    ("PUT", "/api/tasks/7", "TasksFunction"),
    ("DELETE", "/api/tasks/7", "TasksFunction"),
    ("POST", "/api/tasks/7/complete", "TasksFunction"),
    ("POST", "/api/tasks/7/reopen", "TasksFunction"),
    ("GET", "/api/alice/tasks", "TasksFunction"),
    ("POST", "/api/alice/tasks", "TasksFunction"),
    ("GET", "/api/alice/tasks/7", "TasksFunction"),
    ("PATCH", "/api/alice/tasks/7", "TasksFunction"),
    ("PUT", "/api/alice/tasks/7", "TasksFunction"),
    ("DELETE", "/api/alice/tasks/7", "TasksFunction"),
    ("PATCH", "/api/alice/tasks/7/complete", "TasksFunction"),
    ("POST", "/api/alice/tasks/7/reopen", "TasksFunction"),
    ("GET", "/api/no-such-endpoint", "TasksFunction"),  # the app's problem+json 404, not the SPA
    ("POST", "/api/chat", "ChatApiFunction"),
    ("POST", "/api/alice/chat", "ChatApiFunction"),
    ("POST", "/mcp", "McpFunction"),
    ("GET", "/mcp", "McpFunction"),  # the app's 405
    ("POST", "/chatkit", "ChatFunction"),
    ("GET", "/", "site"),
    ("GET", "/index.html", "site"),
    ("GET", "/assets/index-AczUyvmm.js", "site"),
    ("GET", "/favicon.svg", "site"),
    ("GET", "/auth/callback", "site"),
]

# What the SPA rewrite must do with a viewer URI on the S3 behaviour.
SPA_REWRITES = {
    "/": "/index.html",
    "/auth/callback": "/index.html",
    "/tasks/42": "/index.html",
    "/index.html": "/index.html",
    "/assets/index-AczUyvmm.js": "/assets/index-AczUyvmm.js",
    "/favicon.svg": "/favicon.svg",
}

# Text that must never appear in the template: secret values or URLs with credentials.
SECRET_PATTERNS = [
    (re.compile(r"postgres(ql)?://", re.I), "a PostgreSQL URL"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "an OpenAI-style API key"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "a JWT"),
    (re.compile(r"(password|secret)\s*[=:]\s*\S{6,}", re.I), "an inline password or secret"),
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key id"),
]

# ---------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------

RAW = cfn.load(str(TEMPLATE_PATH))
CFN = cfn.sam_transform(RAW)
RES = CFN["Resources"]
RAW_RES = RAW["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r.get("Type") == kind}


FUNCTIONS = of_type(RAW_RES, "AWS::Serverless::Function")


def ref_target(value: Any) -> str | None:
    """The logical id a Ref / GetAtt / single-name Sub points at, else None."""
    refs = cfn.references(value)
    return next(iter(refs)) if len(refs) == 1 else None


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties", {})


def env_of(name: str) -> dict[str, Any]:
    """A function's environment after SAM merged the Globals into it."""
    return props(RES[name]).get("Environment", {}).get("Variables", {})


# ---------------------------------------------------------------------------------------------------
# Emulation of the two routers: CloudFront behaviours and HTTP API routes
# ---------------------------------------------------------------------------------------------------


def cloudfront_behaviour(path: str) -> dict[str, Any]:
    """The cache behaviour CloudFront picks: the first path pattern that matches, else the default."""
    config = props(RES["Distribution"])["DistributionConfig"]
    for behaviour in config.get("CacheBehaviors", []):
        if fnmatch.fnmatchcase(path, behaviour["PathPattern"]):
            return behaviour
    return config["DefaultCacheBehavior"]


def origin(origin_id: str) -> dict[str, Any]:
    config = props(RES["Distribution"])["DistributionConfig"]
    matches = [o for o in config["Origins"] if o["Id"] == origin_id]
    expect(len(matches) == 1, f"origin {origin_id!r} is defined {len(matches)} times")
    return matches[0]


def origin_target(o: dict[str, Any]) -> str:
    """The resource an origin's DomainName comes from: the bucket, the HttpApi or a Function URL."""
    target = ref_target(o["DomainName"])
    expect(target is not None, f"origin {o['Id']} has an unrecognised DomainName {o['DomainName']}")
    return target


def route_matches(route_path: str, path: str) -> bool:
    want, got = route_path.strip("/").split("/"), path.strip("/").split("/")
    for i, part in enumerate(want):
        if part.endswith("+}"):
            return len(got) > i
        if i >= len(got):
            return False
        if not (part.startswith("{") or part == got[i]):
            return False
    return len(want) == len(got)


def route_rank(route_path: str, method: str) -> tuple[int, int, int]:
    """HTTP API precedence: no greedy variable over greedy, more literal segments first, a method over ANY."""
    parts = route_path.strip("/").split("/")
    greedy = any(p.endswith("+}") for p in parts)
    literals = sum(1 for p in parts if not p.startswith("{"))
    return (0 if greedy else 1, literals, 0 if method == "ANY" else 1)


def http_api_function(method: str, path: str) -> str | None:
    """The function the HttpApi invokes for METHOD PATH, or None when no route matches (404)."""
    candidates = []
    for route in of_type(RES, "AWS::ApiGatewayV2::Route").values():
        key = props(route)["RouteKey"]
        if key == "$default":
            candidates.append(((-1, 0, 0), route))
            continue
        route_method, route_path = key.split(" ", 1)
        if route_method in ("ANY", method) and route_matches(route_path, path):
            candidates.append((route_rank(route_path, route_method), route))
    if not candidates:
        return None
    route = max(candidates, key=lambda c: c[0])[1]
    integration_id = ref_target(props(route)["Target"])
    integration = props(RES[integration_id])
    expect(integration["IntegrationType"] == "AWS_PROXY", f"{integration_id} is not a Lambda proxy integration")
    expect(str(integration.get("PayloadFormatVersion")) == "2.0", f"{integration_id} is not payload format 2.0")
    return ref_target(integration["IntegrationUri"])


def behind_http_api(path: str) -> bool:
    """Whether CloudFront sends PATH to the HttpApi (the contract's /api/* and /mcp)."""
    return path.startswith("/api/") or path == "/mcp"


def url_function(url_resource: str) -> str:
    return ref_target(props(RES[url_resource])["TargetFunctionArn"])


def site_target(method: str, path: str) -> str:
    """Follow METHOD PATH from the viewer to the function (or "site") that answers it."""
    behaviour = cloudfront_behaviour(path)
    expect(method in behaviour["AllowedMethods"], f"CloudFront refuses {method} on {path}")
    target = origin_target(origin(behaviour["TargetOriginId"]))
    kind = RES[target]["Type"]
    if kind == "AWS::S3::Bucket":
        return "site"
    if kind == "AWS::ApiGatewayV2::Api":
        fn = http_api_function(method, path)
        expect(fn is not None, f"no HttpApi route for {method} {path}")
        return fn
    if kind == "AWS::Lambda::Url":
        return url_function(target)
    raise AssertionError(f"{path} goes to an origin of unexpected type {kind}")


# ---------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------


@check
def globals_are_provided_al2023_arm64_bootstrap() -> None:
    g = RAW["Globals"]["Function"]
    expect(g.get("Runtime") == "provided.al2023", f"Runtime is {g.get('Runtime')}")
    expect(g.get("Architectures") == ["arm64"], f"Architectures is {g.get('Architectures')}")
    expect(g.get("Handler") == "bootstrap", f"Handler is {g.get('Handler')}")
    for name, fn in FUNCTIONS.items():
        p = props(fn)
        for key in ("Runtime", "Architectures", "Handler"):
            expect(key not in p, f"{name} overrides the global {key}")


@check
def each_function_builds_its_binary_with_cargo_lambda() -> None:
    expect(len(FUNCTIONS) == 4, f"expected tasks, chat (streaming and buffered) and mcp, got {sorted(FUNCTIONS)}")
    binaries = set()
    for name, fn in FUNCTIONS.items():
        meta = fn.get("Metadata", {})
        expect(meta.get("BuildMethod") == "rust-cargolambda", f"{name}: BuildMethod is {meta.get('BuildMethod')}")
        # `sam build` reads Metadata.BuildProperties.Binary (a top-level Binary is ignored: every bin
        # of the workspace would be built and one of them picked).
        binary = meta.get("BuildProperties", {}).get("Binary")
        binaries.add(binary)
        manifest = ROOT / props(fn)["CodeUri"] / "Cargo.toml"
        expect(manifest.is_file(), f"{name}: {manifest} is missing")
        bins = [b.get("name") for b in tomllib.loads(manifest.read_text()).get("bin", [])]
        expect(binary in bins, f"{name}: Binary {binary!r} is not a [[bin]] of {manifest} ({bins})")
    expect(binaries == {"tasks", "chat", "mcp"}, f"binaries are {sorted(binaries)}")


@check
def both_chat_functions_have_reserved_concurrency_and_the_stage_is_throttled() -> None:
    for name in ("ChatFunction", "ChatApiFunction"):
        reserved = props(RAW_RES[name]).get("ReservedConcurrentExecutions")
        expect(
            isinstance(reserved, dict) and "Fn::If" in reserved and reserved["Fn::If"][0] == "HasChatConcurrency",
            f"{name}: ReservedConcurrentExecutions from ChatConcurrency, got {reserved!r}",
        )
    stages = of_type(RAW_RES, "AWS::ApiGatewayV2::Stage")
    throttled = [n for n, r in stages.items() if props(r).get("DefaultRouteSettings", {}).get("ThrottlingRateLimit")]
    expect(bool(throttled), f"no HttpApi stage throttle: {list(stages)}")


@check
def both_chat_functions_share_one_build() -> None:
    a, b = FUNCTIONS["ChatFunction"], FUNCTIONS["ChatApiFunction"]
    # `sam build` builds once per (CodeUri, Metadata, runtime, architecture, handler).
    expect(props(a)["CodeUri"] == props(b)["CodeUri"], "the chat functions have different CodeUri")
    expect(a["Metadata"] == b["Metadata"], "the chat functions have different build Metadata")


def misrouted(resolve: Callable[[str, str], str | None], routes: list[tuple[str, str, str]]) -> str:
    """The routes that `resolve` sends elsewhere than their function, as one message ("" if none)."""
    wrong = [f"{m} {p} -> {got} (want {want})" for m, p, want in routes if (got := resolve(m, p)) != want]
    return "; ".join(wrong)


@check
def every_contract_route_reaches_its_function_through_cloudfront() -> None:
    wrong = misrouted(site_target, CONTRACT)
    expect(not wrong, wrong)


@check
def the_http_api_alone_routes_api_and_mcp_to_the_right_functions() -> None:
    wrong = misrouted(http_api_function, [r for r in CONTRACT if behind_http_api(r[1])])
    expect(not wrong, wrong)


@check
def nothing_buffered_reaches_the_streaming_chat_function() -> None:
    for name, integration in of_type(RES, "AWS::ApiGatewayV2::Integration").items():
        expect(ref_target(props(integration)["IntegrationUri"]) != "ChatFunction",
               f"{name} sends HttpApi traffic to the streaming ChatFunction (API Gateway cannot read the stream)")
    for name, perm in of_type(RES, "AWS::Lambda::Permission").items():
        if props(perm).get("Principal") == "apigateway.amazonaws.com":
            expect(ref_target(props(perm)["FunctionName"]) != "ChatFunction", f"{name} lets API Gateway invoke ChatFunction")


@check
def the_chat_url_streams_and_the_http_api_copy_buffers() -> None:
    urls = of_type(RES, "AWS::Lambda::Url")
    expect(list(urls) == ["ChatFunctionUrl"], f"Function URLs: {sorted(urls)}")
    url = props(urls["ChatFunctionUrl"])
    expect(url.get("InvokeMode") == "RESPONSE_STREAM", f"InvokeMode is {url.get('InvokeMode')}")
    expect(url_function("ChatFunctionUrl") == "ChatFunction", "the URL does not target ChatFunction")
    expect(env_of("ChatFunction").get("CHAT_RESPONSE_STREAMING", "true") == "true", "ChatFunction does not stream")
    expect(env_of("ChatApiFunction").get("CHAT_RESPONSE_STREAMING") == "false",
           "ChatApiFunction (behind the HttpApi) must set CHAT_RESPONSE_STREAMING=false")


@check
def the_function_url_checks_the_token_in_the_app_and_is_the_only_public_invoke() -> None:
    # AuthType NONE is acceptable only because the app verifies the bearer JWT; nothing else is public.
    url = props(RES["ChatFunctionUrl"])
    expect(url.get("AuthType") == "NONE", f"AuthType is {url.get('AuthType')}")
    public = {
        (ref_target(props(p)["FunctionName"]), props(p)["Action"], bool(props(p).get("InvokedViaFunctionUrl")),
         props(p).get("FunctionUrlAuthType"))
        for p in of_type(RES, "AWS::Lambda::Permission").values()
        if props(p).get("Principal") == "*"
    }
    expect(public == {("ChatFunction", "lambda:InvokeFunctionUrl", False, "NONE"),
                      ("ChatFunction", "lambda:InvokeFunction", True, None)},
           f"public permissions: {sorted(map(str, public))}")


@check
def api_gateway_may_invoke_exactly_the_functions_it_routes_to() -> None:
    routed = {http_api_function(m, p) for m, p, _ in CONTRACT if behind_http_api(p)}
    permitted: dict[str, list[str]] = {}
    for perm in of_type(RES, "AWS::Lambda::Permission").values():
        p = props(perm)
        if p.get("Principal") == "apigateway.amazonaws.com":
            expect(p["Action"] == "lambda:InvokeFunction", f"unexpected action {p['Action']}")
            source = p["SourceArn"]["Fn::Sub"]
            expect(isinstance(source, str) and "${HttpApi}" in source, f"SourceArn {source} is not this HttpApi")
            permitted.setdefault(ref_target(p["FunctionName"]), []).append(source.split("${HttpApi}", 1)[1])
    expect(set(permitted) == routed, f"permissions for {sorted(permitted)}, routes to {sorted(routed)}")
    for method, path, want in CONTRACT:
        if behind_http_api(path):
            arn_tail = f"/$default/{method}{path}"
            expect(any(fnmatch.fnmatchcase(arn_tail, pattern) for pattern in permitted[want]),
                   f"no permission lets the HttpApi invoke {want} for {method} {path} ({permitted[want]})")


@check
def api_behaviours_forward_everything_and_cache_nothing() -> None:
    for path in ("/api/tasks", "/mcp", "/chatkit"):
        b = cloudfront_behaviour(path)
        expect(b.get("PathPattern"), f"{path} falls to the default (S3) behaviour")
        expect(b.get("CachePolicyId") == CACHING_DISABLED, f"{path}: cache policy is not CachingDisabled")
        expect(b.get("OriginRequestPolicyId") == ALL_VIEWER_EXCEPT_HOST,
               f"{path}: origin request policy is not AllViewerExceptHostHeader (Authorization must reach the origin)")
        expect(set(b["AllowedMethods"]) == ALL_METHODS, f"{path}: allowed methods {b['AllowedMethods']}")
        expect(b.get("ViewerProtocolPolicy") in ("https-only", "redirect-to-https"), f"{path}: plain HTTP allowed")
        expect(not b.get("FunctionAssociations") and not b.get("LambdaFunctionAssociations"),
               f"{path}: an edge function rewrites API requests")


@check
def the_frontend_is_the_default_behaviour_with_spa_fallback_only_there() -> None:
    config = props(RES["Distribution"])["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    expect(origin_target(origin(default["TargetOriginId"])) == "SiteBucket", "the default behaviour is not S3")
    expect(default.get("CachePolicyId") == CACHING_OPTIMIZED, "the static site is not cached (CachingOptimized)")
    assoc = default.get("FunctionAssociations", [])
    expect(len(assoc) == 1 and assoc[0]["EventType"] == "viewer-request", f"SPA rewrite associations: {assoc}")
    expect(ref_target(assoc[0]["FunctionARN"]) == "SpaRewriteFunction", "the default behaviour does not use the SPA rewrite")
    # Distribution-wide error pages would turn every API 404/403 into index.html.
    expect(not config.get("CustomErrorResponses"), "CustomErrorResponses would rewrite API errors too")


@check
def the_spa_rewrite_serves_index_html_only_for_client_routes() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            raise AssertionError("node is not installed (needed to run the CloudFront function)")
        raise Skip("node not installed")
    code = props(RES["SpaRewriteFunction"])["FunctionCode"]
    script = code + "\nconst cases = " + json.dumps(list(SPA_REWRITES)) + ";\n" + (
        "console.log(JSON.stringify(cases.map(u => handler({request: {uri: u, headers: {}}}).uri)));"
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30, check=True).stdout
    got = dict(zip(SPA_REWRITES, json.loads(out)))
    wrong = {k: v for k, v in got.items() if v != SPA_REWRITES[k]}
    expect(not wrong, f"rewrites {wrong}, want {SPA_REWRITES}")
    runtime = props(RES["SpaRewriteFunction"])["FunctionConfig"]["Runtime"]
    expect(runtime == "cloudfront-js-2.0", f"runtime {runtime}")


@check
def the_bucket_is_private_and_readable_only_by_this_distribution() -> None:
    block = props(RES["SiteBucket"])["PublicAccessBlockConfiguration"]
    expect(all(block.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")),
           f"public access block {block}")
    site_origin = origin(props(RES["Distribution"])["DistributionConfig"]["DefaultCacheBehavior"]["TargetOriginId"])
    oac = ref_target(site_origin.get("OriginAccessControlId"))
    expect(oac is not None, "the S3 origin has no origin access control")
    oac_config = props(RES[oac])["OriginAccessControlConfig"]
    expect(oac_config["OriginAccessControlOriginType"] == "s3" and oac_config["SigningBehavior"] == "always",
           f"origin access control {oac_config}")
    statements = props(RES["SiteBucketPolicy"])["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    expect(len(allows) == 1, f"{len(allows)} Allow statements in the bucket policy")
    allow = allows[0]
    expect(allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}, f"principal {allow['Principal']}")
    expect(allow["Action"] == "s3:GetObject", f"action {allow['Action']}")
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]
    expect(cfn.references(source) == {"Distribution"}, f"SourceArn {source} is not this distribution")


@check
def each_role_reads_only_the_app_secret_besides_logging() -> None:
    for name in FUNCTIONS:
        role_id = ref_target(props(RES[name])["Role"])
        role = props(RES[role_id])
        expect(role.get("ManagedPolicyArns") == [BASIC_EXECUTION_ROLE],
               f"{name}: managed policies {role.get('ManagedPolicyArns')} (only logging is allowed)")
        statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
        expect(statements, f"{name}: no inline policy (it cannot read the app secret)")
        for s in statements:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            expect(s["Effect"] == "Allow" and actions == ["secretsmanager:GetSecretValue"],
                   f"{name}: statement {s} grants more than secretsmanager:GetSecretValue")
            for resource in resources:
                expect(resource != "*" and cfn.references(resource) == {"AppSecret"},
                       f"{name}: GetSecretValue on {resource}, not the app secret alone")


@check
def no_secret_value_is_inline() -> None:
    secret = props(RES["AppSecret"])
    expect("SecretString" not in secret, "the app secret's value is written in the template")
    generated = secret["GenerateSecretString"]
    expect(generated["GenerateStringKey"] == "AUTH_JWT_SECRET", "AUTH_JWT_SECRET is not generated")
    expect(generated["PasswordLength"] >= 32, "the generated AUTH_JWT_SECRET is shorter than 32 bytes")
    placeholders = json.loads(generated["SecretStringTemplate"])
    expect(set(placeholders) | {"AUTH_JWT_SECRET"} == SECRET_KEYS, f"secret keys {sorted(placeholders)}")
    expect(all(v == "" for v in placeholders.values()), "the secret template carries values")
    for name in FUNCTIONS:
        env = env_of(name)
        leaked = SECRET_KEYS & set(env)
        expect(not leaked, f"{name} gets {sorted(leaked)} as a plain environment variable")
        expect(cfn.references(env.get("APP_SECRET_ARN")) == {"AppSecret"}, f"{name}: APP_SECRET_ARN is not the app secret")
    for name, param in RAW.get("Parameters", {}).items():
        if re.search(r"secret|password|key$|token", name, re.I):
            expect(param.get("NoEcho") in (True, "true"), f"parameter {name} looks secret but is echoed")
    text = TEMPLATE_PATH.read_text()
    for pattern, what in SECRET_PATTERNS:
        match = pattern.search(text)
        expect(match is None, f"{what} in the template: {match.group(0) if match else ''!r}")


@check
def mcp_allows_the_real_host_names() -> None:
    hosts = env_of("McpFunction").get("MCP_ALLOWED_HOSTS")
    expect(isinstance(hosts, dict) and "Fn::Sub" in hosts, f"MCP_ALLOWED_HOSTS is {hosts!r}")
    text = hosts["Fn::Sub"] if isinstance(hosts["Fn::Sub"], str) else hosts["Fn::Sub"][0]
    names = [h.strip() for h in text.split(",")]
    expect("${Distribution.DomainName}" in names, f"the CloudFront name is missing from {names}")
    expect("${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}" in names, f"the HttpApi name is missing from {names}")
    expect("*" not in names, "MCP_ALLOWED_HOSTS turns the host check off")


@check
def every_function_logs_to_its_own_group_with_retention() -> None:
    seen = set()
    for name in FUNCTIONS:
        group = ref_target(props(RES[name]).get("LoggingConfig", {}).get("LogGroup"))
        expect(group in RES and RES[group]["Type"] == "AWS::Logs::LogGroup", f"{name}: no log group of its own")
        expect(group not in seen, f"{name} shares the log group {group}")
        seen.add(group)
        expect(props(RES[group]).get("RetentionInDays") is not None, f"{group} keeps logs forever")


@check
def timeouts_fit_their_front_doors() -> None:
    for name, fn in FUNCTIONS.items():
        timeout = props(RES[name])["Timeout"]
        routed = name in {want for m, p, want in CONTRACT if behind_http_api(p)}
        if routed:
            expect(timeout < HTTP_API_TIMEOUT_SECONDS,
                   f"{name} may run {timeout} s behind the HttpApi's {HTTP_API_TIMEOUT_SECONDS} s limit")
    expect(props(RES["ChatFunction"])["Timeout"] >= 60, "a streamed turn of several model rounds needs minutes")


@check
def sign_in_is_cognito_with_pkce_or_the_external_issuer() -> None:
    client = props(RES["UserPoolClient"])
    expect(client.get("GenerateSecret") is False, "the app client has a secret (a browser cannot keep it)")
    expect(client.get("AllowedOAuthFlows") == ["code"] and client.get("AllowedOAuthFlowsUserPoolClient") is True,
           f"OAuth flows {client.get('AllowedOAuthFlows')}")
    expect(client["CallbackURLs"] == [{"Fn::Sub": "https://${Distribution.DomainName}/auth/callback"}],
           f"callback URLs {client['CallbackURLs']}")
    for name in ("UserPool", "UserPoolClient", "UserPoolDomain"):
        expect(RES[name].get("Condition") == "UseCognito", f"{name} is created even with an external issuer")
    for name in FUNCTIONS:
        env = env_of(name)
        for key, param in (("AUTH_ISSUER", "AuthIssuer"), ("AUTH_JWKS_URL", "AuthJwksUrl")):
            value = env.get(key, {})
            expect(isinstance(value, dict) and value.get("Fn::If", [None])[0] == "UseCognito"
                   and value["Fn::If"][2] == {"Ref": param}, f"{name}: {key} is {value}")


@check
def outputs_give_the_frontend_and_mcp_clients_what_they_need() -> None:
    outputs = CFN.get("Outputs", {})
    for key in ("SiteUrl", "McpUrl", "ApiUrl", "SiteBucketName", "DistributionId", "AppSecretArn",
                "AuthIssuer", "OidcAuthority", "OidcClientId", "OidcLogoutUrl"):
        expect(key in outputs, f"output {key} is missing")
    expect(outputs["McpUrl"]["Value"] == {"Fn::Sub": "https://${Distribution.DomainName}/mcp"}, "McpUrl is not the site's /mcp")
    # scripts/deploy-frontend reads these names; keep them in step.
    script = (ROOT / "scripts" / "deploy-frontend").read_text()
    for key in ("SiteUrl", "SiteBucketName", "DistributionId", "OidcAuthority", "OidcClientId", "OidcLogoutUrl"):
        expect(key in script, f"scripts/deploy-frontend does not read output {key}")


@check
def the_transformed_stack_has_no_dependency_cycle() -> None:
    cycle = cfn.dependency_cycle(CFN)
    expect(cycle is None, "CloudFormation would refuse the circular dependency " + " -> ".join(cycle or []))


@check
def an_external_issuer_replaces_cognito() -> None:
    external = cfn.sam_transform(RAW, {"AuthIssuer": "https://issuer.example.com/", "AuthJwksUrl": "https://issuer.example.com/jwks"})
    expect(cfn.dependency_cycle(external) is None, "a dependency cycle with an external issuer")
    conditions = RAW["Conditions"]
    expect(conditions["UseCognito"] == {"Fn::Equals": [{"Ref": "AuthIssuer"}, ""]}, "UseCognito is not 'AuthIssuer empty'")
    rule = RAW["Rules"]["ExternalIssuerNeedsJwks"]
    expect(rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AuthJwksUrl"}, ""]}]},
           "no rule requires AuthJwksUrl with an external issuer")


@check
def the_event_fixtures_are_what_the_stack_delivers() -> None:
    # events/<function>-*.json for `scripts/lambda invoke`: payload 2.0 events whose route exists in the
    # template and reaches that function. No fixture carries a signed token and events/local.env no
    # secret: `scripts/lambda` fills in a token signed with the local, generated secret.
    local_env = (ROOT / "events" / "local.env").read_text()
    expect(not any(line.startswith("AUTH_JWT_SECRET") for line in local_env.splitlines()),
           "events/local.env commits a signing secret")
    owners = {"tasks": "TasksFunction", "chat": "ChatApiFunction", "chatkit": "ChatFunction", "mcp": "McpFunction"}
    fixtures = sorted((ROOT / "events").glob("*.json"))
    expect(len(fixtures) >= 4, f"fixtures: {[f.name for f in fixtures]}")
    for path in fixtures:
        event = json.loads(path.read_text())
        want = owners[path.name.split("-")[0]]
        method, raw_path = event["requestContext"]["http"]["method"], event["rawPath"]
        expect(event["version"] == "2.0", f"{path.name}: not a payload 2.0 event")
        if event["routeKey"] == "$default":  # a Function URL event
            expect(site_target(method, raw_path) == want, f"{path.name}: {method} {raw_path} does not reach {want}")
        else:
            routes = {props(r)["RouteKey"] for r in of_type(RES, "AWS::ApiGatewayV2::Route").values()}
            expect(event["routeKey"] in routes, f"{path.name}: route {event['routeKey']} is not in the template")
            expect(http_api_function(method, raw_path) == want, f"{path.name}: {method} {raw_path} does not reach {want}")
        auth = event["headers"].get("authorization")
        expect(auth in (None, "Bearer {{TOKEN}}"), f"{path.name}: authorization is {auth!r}, not the {{{{TOKEN}}}} placeholder")


@check
def scripts_lambda_fills_in_a_token_signed_with_the_local_secret() -> None:
    # `scripts/lambda render` with a known secret and the CLI scripts/test built: the placeholder
    # becomes an HS256 token for alice that this secret verifies, and the rest of the event is unchanged.
    binary = os.environ.get("SMART_TODO_BIN")
    if not binary:
        expect(False, "SMART_TODO_BIN is not set (scripts/test sets it to the CLI it built)")
        return
    secret = os.urandom(32).hex()
    env = {**os.environ, "AUTH_JWT_SECRET": secret, "SMART_TODO_BIN": binary}
    out = subprocess.run([str(ROOT / "scripts" / "lambda"), "render", "tasks-create"], env=env,
                         capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0, f"scripts/lambda render failed: {out.stderr}")
    if out.returncode:
        return
    rendered = json.loads(out.stdout)
    original = json.loads((ROOT / "events" / "tasks-create.json").read_text())
    token = rendered["headers"].pop("authorization").removeprefix("Bearer ")
    original["headers"].pop("authorization")
    expect(rendered == original, "render changed more than the token")
    header, payload, signature = token.split(".")
    mac = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    expect(base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == signature,
           "the rendered token is not signed with AUTH_JWT_SECRET")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    expect(claims["sub"] == "alice" and claims["exp"] > time.time() + 86400, f"claims: {claims}")
    bad = subprocess.run([str(ROOT / "scripts" / "lambda"), "render", "no-such-fixture"], env=env,
                         capture_output=True, text=True, timeout=60)
    expect(bad.returncode != 0 and "tasks-create" in bad.stderr, f"an unknown fixture: {bad.stderr}")


if __name__ == "__main__":
    sys.exit(run_all("template"))
