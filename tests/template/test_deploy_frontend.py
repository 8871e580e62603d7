#!/usr/bin/env python3
"""Offline tests of scripts/deploy-frontend: its command line and the calls it makes.

Fake `aws` and `npm` executables go first on PATH. The fake aws answers `cloudformation
describe-stacks` with canned stack outputs and records every call; the fake npm records its
arguments and the VITE_* environment and writes a small dist/ on `run build`. Nothing reaches AWS or
the npm registry, and the repository's frontend/ is never touched (--frontend points at a temp dir).

    python3 tests/template/test_deploy_frontend.py

Prints one line per check and `deploy-frontend: N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import check, expect, run_all  # noqa: E402  (the runner beside this file)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy-frontend"

OUTPUTS = [
    {"OutputKey": "SiteUrl", "OutputValue": "https://d111111abcdef8.cloudfront.net"},
    {"OutputKey": "McpUrl", "OutputValue": "https://d111111abcdef8.cloudfront.net/mcp"},
    {"OutputKey": "SiteBucketName", "OutputValue": "smart-todo-prod-sitebucket-1a2b3c"},
    {"OutputKey": "DistributionId", "OutputValue": "E2EXAMPLE123"},
    {"OutputKey": "OidcAuthority", "OutputValue": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc"},
    {"OutputKey": "OidcClientId", "OutputValue": "client123"},
    {"OutputKey": "OidcLogoutUrl", "OutputValue": "https://smart-todo-1a2b3c4d.auth.eu-west-1.amazoncognito.com/logout"},
]

FAKE_AWS = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"cmd": "aws", "args": args}) + "\n")
if "describe-stacks" in args:
    if os.environ.get("FAKE_AWS_FAIL"):
        print("An error occurred (ValidationError): Stack with id x does not exist", file=sys.stderr)
        sys.exit(254)
    print(open(os.environ["FAKE_OUTPUTS"]).read())
elif "create-invalidation" in args:
    print("I2EXAMPLE")
"""

FAKE_NPM = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
prefix = args[args.index("--prefix") + 1]
env = {k: v for k, v in os.environ.items() if k.startswith("VITE_")}
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"cmd": "npm", "args": args, "env": env}) + "\n")
if args[-2:] == ["run", "build"] and not os.environ.get("FAKE_NPM_NO_DIST"):
    dist = os.path.join(prefix, "dist", "assets")
    os.makedirs(dist, exist_ok=True)
    open(os.path.join(dist, "index-1a2b3c.js"), "w").write("console.log(1)")
    open(os.path.join(prefix, "dist", "index.html"), "w").write("<!doctype html>")
    open(os.path.join(prefix, "dist", "favicon.svg"), "w").write("<svg/>")
"""

class Run:
    """One run of the script in a fresh sandbox; `.calls` are the recorded aws/npm invocations."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, outputs: list | None = None) -> None:
        with tempfile.TemporaryDirectory(prefix="deploy-frontend-test.") as tmp:
            t = Path(tmp)
            bin_dir, frontend = t / "bin", t / "frontend"
            bin_dir.mkdir()
            frontend.mkdir()
            (frontend / "package.json").write_text('{"name": "fake"}')
            for name, body in (("aws", FAKE_AWS), ("npm", FAKE_NPM)):
                (bin_dir / name).write_text(body.replace("/usr/bin/env python3", sys.executable, 1))
                (bin_dir / name).chmod(0o755)
            (t / "outputs.json").write_text(json.dumps(OUTPUTS if outputs is None else outputs))
            base = {k: v for k, v in os.environ.items() if not k.startswith(("VITE_", "AWS_"))}
            base.update(
                PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                FAKE_LOG=str(t / "calls.log"),
                FAKE_OUTPUTS=str(t / "outputs.json"),
            )
            base.update(env or {})
            has_frontend = any(a == "--frontend" or a.startswith("--frontend=") for a in args)
            argv = [str(SCRIPT)] + ([] if has_frontend else ["--frontend", str(frontend)]) + list(args)
            done = subprocess.run(argv, env=base, capture_output=True, text=True, timeout=60)
            self.code, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr
            log = t / "calls.log"
            self.calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def aws(self) -> list[list[str]]:
        return [c["args"] for c in self.calls if c["cmd"] == "aws"]

    def npm(self) -> list[dict]:
        return [c for c in self.calls if c["cmd"] == "npm"]

    def __str__(self) -> str:
        return f"exit {self.code}; stderr: {self.stderr.strip()[-600:]}"


def without_global_options(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("--region", "--profile"):
            skip = True
        else:
            out.append(a)
    return out


@check
def help_prints_the_usage_and_succeeds() -> None:
    r = Run("--help")
    expect(r.code == 0 and "--config-env" in r.stdout and "--chatkit-domain-key" in r.stdout, str(r))
    expect(not r.calls, "--help called aws or npm")


@check
def an_unknown_argument_is_a_usage_error() -> None:
    r = Run("--bogus")
    expect(r.code == 2 and "unknown argument: --bogus" in r.stderr, str(r))
    expect(not r.calls, "a usage error still called aws or npm")


@check
def an_option_without_its_value_is_a_usage_error() -> None:
    for args in (("--stack",), ("--stack=",), ("--stack", "--region", "eu-west-1"), ("--region", "eu-west-1", "--profile")):
        r = Run(*args)
        expect(r.code == 2 and "needs a value" in r.stderr, f"{args}: {r}")
        expect(not r.calls, f"{args}: a usage error still called aws or npm")


@check
def an_unknown_config_env_names_itself() -> None:
    r = Run("--config-env", "staging")
    expect(r.code != 0 and "no stack_name for config env 'staging'" in r.stderr, str(r))
    expect(not r.calls, "aws was called without a stack name")


@check
def the_config_env_picks_the_stack_from_samconfig() -> None:
    for args, stack in ((("--config-env", "prod"), "smart-todo-prod"), ((), "smart-todo-dev")):
        r = Run(*args)
        expect(r.code == 0, f"{args}: {r}")
        describe = without_global_options(r.aws()[0])
        expect(describe[:4] == ["cloudformation", "describe-stacks", "--stack-name", stack], f"{args}: first call {describe}")


@check
def region_and_profile_reach_every_aws_call() -> None:
    r = Run("--stack", "my-stack", "--region=eu-west-1", "--profile", "ops")
    expect(r.code == 0, str(r))
    for call in r.aws():
        expect(call[:4] == ["--region", "eu-west-1", "--profile", "ops"], f"call without them: {call}")
    expect(without_global_options(r.aws()[0])[3] == "my-stack", "--stack was not used")


@check
def the_build_gets_the_oidc_settings_from_the_stack_outputs() -> None:
    r = Run("--stack", "s", "--chatkit-domain-key", "domain_pk_abc")
    expect(r.code == 0, str(r))
    npm = r.npm()
    expect([c["args"][2:] for c in npm] == [["ci", "--no-audit", "--no-fund"], ["run", "build"]],
           f"npm calls {[c['args'] for c in npm]}")
    env = npm[-1]["env"]
    want = {
        "VITE_OIDC_AUTHORITY": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc",
        "VITE_OIDC_CLIENT_ID": "client123",
        "VITE_OIDC_LOGOUT_URL": "https://smart-todo-1a2b3c4d.auth.eu-west-1.amazoncognito.com/logout",
        "VITE_CHATKIT_DOMAIN_KEY": "domain_pk_abc",
    }
    expect(env == want, f"build environment {env}")


@check
def a_vite_setting_in_the_environment_wins_and_skip_install_skips_npm_ci() -> None:
    r = Run("--stack", "s", "--skip-install", env={"VITE_OIDC_CLIENT_ID": "mine", "VITE_CHATKIT_DOMAIN_KEY": "domain_pk_env"})
    expect(r.code == 0, str(r))
    npm = r.npm()
    expect([c["args"][2:] for c in npm] == [["run", "build"]], f"npm calls {[c['args'] for c in npm]}")
    expect(npm[0]["env"]["VITE_OIDC_CLIENT_ID"] == "mine", f"build environment {npm[0]['env']}")
    expect(npm[0]["env"]["VITE_CHATKIT_DOMAIN_KEY"] == "domain_pk_env", "VITE_CHATKIT_DOMAIN_KEY from the environment was dropped")


@check
def uploads_go_assets_first_index_last_then_deletes_and_invalidates() -> None:
    r = Run("--stack", "s")
    expect(r.code == 0, str(r))
    calls = [without_global_options(c) for c in r.aws()[1:]]
    dest = "s3://smart-todo-prod-sitebucket-1a2b3c"
    kinds = [" ".join(c[:2]) for c in calls]
    expect(kinds == ["s3 sync", "s3 sync", "s3 cp", "s3 sync", "cloudfront create-invalidation"], f"calls {kinds}")
    add_assets, others, index, prune, invalidate = calls

    def opt(call: list[str], name: str) -> str | None:
        return call[call.index(name) + 1] if name in call else None

    expect(add_assets[2].endswith("/dist/assets") and add_assets[3] == f"{dest}/assets", f"assets upload {add_assets}")
    expect(opt(add_assets, "--cache-control") == "public, max-age=31536000, immutable", f"assets cache {add_assets}")
    expect("--delete" not in add_assets, "old assets are deleted before index.html is replaced")
    expect(others[3] == dest and "--delete" in others and opt(others, "--cache-control") == "no-cache", f"other files {others}")
    excluded = [others[i + 1] for i, a in enumerate(others) if a == "--exclude"]
    expect(set(excluded) == {"assets/*", "index.html"}, f"excludes {excluded}")
    expect(index[2].endswith("/dist/index.html") and index[3] == f"{dest}/index.html", f"index upload {index}")
    expect(opt(index, "--cache-control") == "no-cache", f"index cache {index}")
    expect("--delete" in prune and prune[3] == f"{dest}/assets", f"stale assets are not pruned: {prune}")
    expect(opt(invalidate, "--distribution-id") == "E2EXAMPLE123" and opt(invalidate, "--paths") == "/*", f"invalidation {invalidate}")


@check
def a_stack_that_cannot_be_read_stops_before_building() -> None:
    r = Run("--stack", "missing", env={"FAKE_AWS_FAIL": "1"})
    expect(r.code != 0 and "could not read stack missing" in r.stderr, str(r))
    expect(not r.npm() and len(r.aws()) == 1, f"calls after the failure: {r.calls[1:]}")


@check
def a_stack_without_the_outputs_is_refused() -> None:
    r = Run("--stack", "other", outputs=[{"OutputKey": "SiteUrl", "OutputValue": "https://x"}])
    expect(r.code != 0 and "has no output SiteBucketName" in r.stderr, str(r))
    expect(not r.npm(), "built for a stack without a bucket")
    no_client = [o for o in OUTPUTS if o["OutputKey"] != "OidcClientId"]
    r = Run("--stack", "external", outputs=no_client)
    expect(r.code != 0 and "no OIDC client id" in r.stderr, str(r))


@check
def a_build_without_index_html_uploads_nothing() -> None:
    r = Run("--stack", "s", env={"FAKE_NPM_NO_DIST": "1"})
    expect(r.code != 0 and "index.html" in r.stderr, str(r))
    expect(len(r.aws()) == 1, f"aws calls after a failed build: {r.aws()[1:]}")


if __name__ == "__main__":
    sys.exit(run_all("deploy-frontend"))
