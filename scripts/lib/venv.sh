# shellcheck shell=bash
# Idempotent Python virtualenv for the test tooling. Source it (after common.sh).
#
#   venv_setup    Create or refresh $VENV_DIR (default REPO_ROOT/.local/venv) from
#                 scripts/requirements-test.txt, then scripts/requirements-chatkit.txt with --no-deps
#                 (packages whose declared dependencies we do not want: openai-chatkit pulls openai,
#                 openai-agents, uvicorn, ...; the few it really needs are pinned in
#                 requirements-test.txt). A stamp file inside the venv holds the sha256 of both
#                 requirements files and the base interpreter's version; when all still match (and the
#                 venv's python runs) nothing is done. Otherwise the venv is rebuilt from scratch, so a
#                 removed pin never lingers. Sets VENV_DIR and VENV_PY; prepend "$VENV_DIR/bin" to PATH
#                 yourself if you want its console scripts (moto_server, ...).

VENV_DIR="${VENV_DIR:-$REPO_ROOT/.local/venv}"
VENV_REQUIREMENTS="${VENV_REQUIREMENTS:-$REPO_ROOT/scripts/requirements-test.txt}"
# Installed after VENV_REQUIREMENTS with `pip install --no-deps`; optional (skipped when absent).
VENV_NODEPS_REQUIREMENTS="${VENV_NODEPS_REQUIREMENTS:-$REPO_ROOT/scripts/requirements-chatkit.txt}"
VENV_PY="$VENV_DIR/bin/python"

_venv_fingerprint() {
    local base_python="$1"
    {
        sha256sum <"$VENV_REQUIREMENTS"
        if [ -f "$VENV_NODEPS_REQUIREMENTS" ]; then
            echo "--no-deps"
            sha256sum <"$VENV_NODEPS_REQUIREMENTS"
        fi
        "$base_python" -c 'import sys, platform; print(sys.version, platform.machine())'
    } | sha256sum | cut -d' ' -f1
}

venv_setup() {
    mkdir -p "$(dirname "$VENV_DIR")"
    if command -v flock >/dev/null 2>&1; then
        # Two runs at once (scripts/test and bench, say) must not rebuild the same venv together.
        (
            flock 9
            _venv_setup_locked
        ) 9>"$VENV_DIR.lock"
    else
        _venv_setup_locked
    fi
}

_venv_setup_locked() {
    local base_python="${VENV_BASE_PYTHON:-python3}" want have stamp="$VENV_DIR/.requirements.sha256"
    command -v "$base_python" >/dev/null 2>&1 || die "python3 not found: needed for the test venv"
    [ -f "$VENV_REQUIREMENTS" ] || die "missing $VENV_REQUIREMENTS"
    want="$(_venv_fingerprint "$base_python")"
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [ "$want" = "$have" ] && "$VENV_PY" -c 'import sys' >/dev/null 2>&1; then
        log "Python venv up to date: $VENV_DIR"
        return 0
    fi
    log "creating the Python venv $VENV_DIR from $(basename "$VENV_REQUIREMENTS")$([ -f "$VENV_NODEPS_REQUIREMENTS" ] && echo " + $(basename "$VENV_NODEPS_REQUIREMENTS") (--no-deps)")"
    rm -rf "$VENV_DIR"
    "$base_python" -m venv "$VENV_DIR" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    local pip_log="$VENV_DIR/pip-install.log"
    if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV_PY" -m pip install --quiet --no-input \
        -r "$VENV_REQUIREMENTS" >"$pip_log" 2>&1; then
        tail -n 40 "$pip_log" >&2
        rm -f "$stamp"
        die "pip install -r $VENV_REQUIREMENTS failed (log above; full log in $pip_log)"
    fi
    if [ -f "$VENV_NODEPS_REQUIREMENTS" ] && ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV_PY" -m pip install --quiet \
        --no-input --no-deps -r "$VENV_NODEPS_REQUIREMENTS" >>"$pip_log" 2>&1; then
        tail -n 40 "$pip_log" >&2
        rm -f "$stamp"
        die "pip install --no-deps -r $VENV_NODEPS_REQUIREMENTS failed (log above; full log in $pip_log)"
    fi
    echo "$want" >"$stamp"
    log "Python venv ready: $VENV_DIR"
}

# sam_venv_setup: the deployment tooling venv (aws-sam-cli, cfn-lint, cargo-lambda, zig, shellcheck) in
# $SAM_VENV_DIR (default REPO_ROOT/.local/sam-venv) from scripts/requirements-sam.txt, with the same
# stamp and lock as venv_setup (through locals, so the test venv's variables stay as they are).
# Kept apart from the test venv because aws-sam-cli pins many packages of its own. Sets SAM_VENV_DIR;
# returns non-zero (after the error message) when the venv cannot be built, e.g. with no registry.
sam_venv_setup() {
    SAM_VENV_DIR="${SAM_VENV_DIR:-$REPO_ROOT/.local/sam-venv}"
    local VENV_DIR="$SAM_VENV_DIR" VENV_PY="$SAM_VENV_DIR/bin/python"
    local VENV_REQUIREMENTS="$REPO_ROOT/scripts/requirements-sam.txt" VENV_NODEPS_REQUIREMENTS=""
    # A subshell, so that a failure (die) returns here instead of ending the caller.
    (venv_setup)
}

# schemathesis_venv_setup: schemathesis (the OpenAPI layer) in $SCHEMATHESIS_VENV_DIR (default
# REPO_ROOT/.local/schemathesis-venv) from scripts/requirements-schemathesis.txt, like sam_venv_setup.
schemathesis_venv_setup() {
    SCHEMATHESIS_VENV_DIR="${SCHEMATHESIS_VENV_DIR:-$REPO_ROOT/.local/schemathesis-venv}"
    local VENV_DIR="$SCHEMATHESIS_VENV_DIR" VENV_PY="$SCHEMATHESIS_VENV_DIR/bin/python"
    local VENV_REQUIREMENTS="$REPO_ROOT/scripts/requirements-schemathesis.txt" VENV_NODEPS_REQUIREMENTS=""
    (venv_setup)
}
