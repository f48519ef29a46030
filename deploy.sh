#!/usr/bin/env bash
# Build, verify, push and deploy the VibeJudge dashboard to one environment.
# Safe to re-run: every step is idempotent (cached build, ECR repository created
# only when missing, pushing an existing digest is a no-op, empty change sets pass).
set -euo pipefail
# Let the ERR trap fire inside functions and subshells too.
set -o errtrace

readonly PROG="deploy.sh"
readonly VERIFY_POLICY="policies/default.yaml"
readonly LIFECYCLE_POLICY="policies/ecr-lifecycle.json"
readonly SAM_CONFIG="samconfig.toml"
readonly PROJECT_FILE="imagekit.yaml"
readonly SAM_MIN_VERSION="1.100.0"
readonly SCAN_FAIL_ON="CRITICAL"
# The service must be stable within 15 minutes: 60 checks, 15 s apart.
readonly WAIT_ATTEMPTS=60
readonly WAIT_INTERVAL=15

usage() {
    cat <<EOF
Usage: ./$PROG [--dry-run] ENV
       ./$PROG --help

Deploys the dashboard to ENV (dev or prod):
  1. imagekit build                    build the image from Dockerfile (imagekit.yaml)
                                       reusing and refreshing the registry build cache
                                       (imagekit.yaml build.cache; no cache: a cold build)
  2. imagekit verify                   check it against $VERIFY_POLICY
  3. ECR repository                    create it when missing (scan on push, mutable
                                       tags) and apply $LIFECYCLE_POLICY
  4. imagekit push --scan             push with tags ENV-<git short sha> and latest, wait
                                       for ECR's scan and stop on $SCAN_FAIL_ON findings;
                                       only then pin the digest as ImageUri in $SAM_CONFIG
  5. sam deploy --config-env ENV       update the CloudFormation stack
  6. wait for the service              until the new tasks are healthy, at most 15 minutes
  7. print the dashboard URL from the stack outputs

Options:
  --dry-run   check the tools and print the plan; run nothing and call no AWS API
  -h, --help  show this help

Requires: aws, sam (AWS SAM CLI $SAM_MIN_VERSION or later), git, imagekit, runc and
python3 (3.11+) on PATH, and AWS
credentials for the target account. See docs/DEPLOYMENT.md.
EOF
}

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

STEP="argument parsing"
on_error() {
    local rc=$?
    echo "$PROG: error: step '$STEP' failed (exit status $rc); nothing after it ran." >&2
    echo "$PROG: fix the cause above and re-run ./$PROG ${TARGET_ENV:-ENV}: completed steps are idempotent." >&2
    exit "$rc"
}
trap on_error ERR

DRY_RUN=0
TARGET_ENV=""
while (($# > 0)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --dry-run)
            DRY_RUN=1
            ;;
        -*)
            die "unknown option '$1' (see ./$PROG --help)"
            ;;
        *)
            [[ -z "$TARGET_ENV" ]] || die "only one ENV may be given, got '$TARGET_ENV' and '$1'"
            TARGET_ENV="$1"
            ;;
    esac
    shift
done

case "$TARGET_ENV" in
    dev | prod) ;;
    "") die "missing ENV: give dev or prod (usage: ./$PROG [--dry-run] dev|prod)" ;;
    *) die "unknown ENV '$TARGET_ENV': must be dev or prod" ;;
esac

# Every path below is relative to the repository root, where this script lives.
cd "$(dirname "${BASH_SOURCE[0]}")"

STEP="tool check"
missing=()
for tool in aws sam git imagekit runc python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
    if ((DRY_RUN)); then
        echo "$PROG: warning: not on PATH: ${missing[*]} (a real deploy needs them)" >&2
    else
        die "required tools not on PATH: ${missing[*]} (see docs/DEPLOYMENT.md, Prerequisites)"
    fi
fi

# SAM CLI 1.100 or later (the version the template and samconfig.toml are written for).
sam_version_ok() {
    local version
    version=$(sam --version 2>/dev/null | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' | head -n 1)
    [[ -n "$version" ]] || { echo "$PROG: cannot read the version from 'sam --version'" >&2; return 1; }
    python3 - "$version" "$SAM_MIN_VERSION" <<'PY' || { echo "$PROG: SAM CLI $version is older than $SAM_MIN_VERSION; upgrade it (pip install --upgrade aws-sam-cli, or the installer from AWS)" >&2; return 1; }
import sys
have, need = (tuple(int(p) for p in v.split(".") if p) for v in sys.argv[1:3])
sys.exit(0 if have >= need else 1)
PY
}
if command -v sam >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    STEP="SAM CLI version check"
    if ! sam_version_ok; then
        if ((DRY_RUN)); then
            echo "$PROG: warning: a real deploy needs SAM CLI $SAM_MIN_VERSION or later" >&2
        else
            die "SAM CLI $SAM_MIN_VERSION or later is required (see docs/DEPLOYMENT.md, Prerequisites)"
        fi
    fi
fi

STEP="configuration"
for file in "$SAM_CONFIG" "$PROJECT_FILE" "$LIFECYCLE_POLICY"; do
    [[ -f "$file" ]] || die "$file not found in $(pwd)"
done

# Stack name and region for ENV, read locally from samconfig.toml.
read_sam_config() {
    python3 - "$SAM_CONFIG" "$TARGET_ENV" <<'PY'
import sys, tomllib
path, env = sys.argv[1], sys.argv[2]
try:
    with open(path, "rb") as f:
        config = tomllib.load(f)
except tomllib.TOMLDecodeError as error:
    sys.exit(f"{path}: {error}")
params = config.get(env, {}).get("deploy", {}).get("parameters", {})
stack, region = params.get("stack_name"), params.get("region")
if not stack or not region:
    sys.exit(f"{path}: [{env}.deploy.parameters] needs stack_name and region")
print(stack, region)
PY
}
if command -v python3 >/dev/null 2>&1; then
    read -r STACK_NAME REGION < <(read_sam_config) || die "cannot read [$TARGET_ENV.deploy.parameters] from $SAM_CONFIG"
else
    STACK_NAME="<stack_name from $SAM_CONFIG>"
    REGION="<region from $SAM_CONFIG>"
fi

# ecr://NAME in imagekit.yaml names the repository in the caller's account.
REPOSITORY=$(sed -n 's|^[[:space:]]*repository:[[:space:]]*ecr://\([^[:space:]#]*\).*|\1|p' "$PROJECT_FILE" | head -n 1)
[[ -n "$REPOSITORY" ]] || die "$PROJECT_FILE: push.repository must be ecr://NAME"

if GIT_SHA=$(git rev-parse --short HEAD 2>/dev/null); then
    if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
        echo "$PROG: warning: uncommitted changes; the image is tagged $GIT_SHA but contains them" >&2
    fi
elif ((DRY_RUN)); then
    GIT_SHA="<git short sha>"
else
    die "not a git checkout with a commit: the image tag comes from 'git rev-parse --short HEAD'"
fi

print_plan() {
    cat <<EOF
Deployment plan for '$TARGET_ENV' (stack $STACK_NAME, region $REGION):
  1. imagekit build   (--cache-from/--cache-to: imagekit.yaml build.cache)
  2. imagekit verify --policy $VERIFY_POLICY
  3. aws ecr describe-repositories --repository-names $REPOSITORY --region $REGION
     (create-repository --image-scanning-configuration scanOnPush=true --image-tag-mutability MUTABLE when missing)
     aws ecr put-lifecycle-policy --repository-name $REPOSITORY --lifecycle-policy-text file://$LIFECYCLE_POLICY --region $REGION
  4. imagekit push --scan --scan-fail-on $SCAN_FAIL_ON --tag $TARGET_ENV-$GIT_SHA --tag latest --sam-config $SAM_CONFIG --config-env $TARGET_ENV
     (waits for the ECR image scan; $SCAN_FAIL_ON findings stop the deploy here, before $SAM_CONFIG changes)
  5. sam deploy --config-env $TARGET_ENV --no-fail-on-empty-changeset
  6. aws ecs describe-services --cluster <ClusterName output> --services <ServiceName output> --region $REGION
     (every $WAIT_INTERVAL s until one deployment runs all tasks; at most 15 minutes)
  7. print the DashboardUrl output of stack $STACK_NAME
EOF
}

print_plan
if ((DRY_RUN)); then
    echo "Dry run: nothing was built, pushed or deployed, and no AWS API was called."
    exit 0
fi

stack_output() {
    aws cloudformation describe-stacks --stack-name "$STACK_NAME" --region "$REGION" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

STEP="imagekit build"
echo "==> [1/7] $STEP"
imagekit build

STEP="imagekit verify"
echo "==> [2/7] $STEP"
imagekit verify --policy "$VERIFY_POLICY"

STEP="ECR repository"
echo "==> [3/7] $STEP $REPOSITORY"
if ! aws ecr describe-repositories --repository-names "$REPOSITORY" --region "$REGION" >/dev/null 2>&1; then
    echo "    creating ECR repository $REPOSITORY"
    aws ecr create-repository --repository-name "$REPOSITORY" --region "$REGION" \
        --image-scanning-configuration scanOnPush=true --image-tag-mutability MUTABLE \
        --tags "Key=Project,Value=vibejudge" >/dev/null
fi
aws ecr put-lifecycle-policy --repository-name "$REPOSITORY" --region "$REGION" \
    --lifecycle-policy-text "file://$LIFECYCLE_POLICY" >/dev/null

STEP="imagekit push (stops on $SCAN_FAIL_ON findings of the ECR scan)"
echo "==> [4/7] $STEP"
# The ENV- prefix is what keeps this image from expiring (policies/ecr-lifecycle.json).
imagekit push --scan --scan-fail-on "$SCAN_FAIL_ON" --tag "$TARGET_ENV-$GIT_SHA" --tag latest \
    --sam-config "$SAM_CONFIG" --config-env "$TARGET_ENV"

STEP="sam deploy"
echo "==> [5/7] $STEP"
sam deploy --config-env "$TARGET_ENV" --no-fail-on-empty-changeset

STEP="wait for the service to become stable"
echo "==> [6/7] $STEP"
CLUSTER=$(stack_output ClusterName)
SERVICE=$(stack_output ServiceName)
[[ -n "$CLUSTER" && "$CLUSTER" != "None" && -n "$SERVICE" && "$SERVICE" != "None" ]] ||
    die "stack $STACK_NAME has no ClusterName/ServiceName outputs; check 'sam deploy' above"
# `aws ecs wait services-stable` gives up after 10 minutes; the deployment gets 15.
stable=0
for ((attempt = 1; attempt <= WAIT_ATTEMPTS; attempt++)); do
    read -r deployments running desired rollout < <(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" \
        --region "$REGION" --output text \
        --query 'services[0].[length(deployments), runningCount, desiredCount, deployments[0].rolloutState]') ||
        die "cannot describe service $SERVICE in cluster $CLUSTER"
    if [[ "$rollout" == "FAILED" ]]; then
        die "the deployment of $SERVICE failed (the circuit breaker rolled it back); see docs/RUNBOOK.md"
    fi
    if [[ "$deployments" == "1" && "$running" == "$desired" && "$rollout" == "COMPLETED" ]]; then
        stable=1
        break
    fi
    ((attempt == WAIT_ATTEMPTS)) || sleep "$WAIT_INTERVAL"
done
((stable)) || die "service $SERVICE did not become stable within 15 minutes ($deployments deployments, $running of $desired tasks running, rollout $rollout); see docs/RUNBOOK.md"

STEP="read the dashboard URL"
echo "==> [7/7] $STEP"
URL=$(stack_output DashboardUrl)
[[ -n "$URL" && "$URL" != "None" ]] || die "stack $STACK_NAME has no DashboardUrl output"
echo "Deployed to $TARGET_ENV: $URL"
