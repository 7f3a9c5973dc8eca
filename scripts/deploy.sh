#!/usr/bin/env bash
# Deploy one stage as one CloudFormation stack: `make deploy STAGE=dev|prod`
# (make runs `make package` first, which writes build/$STAGE/template.json).
# Safe to run again: an unchanged stage is a no-op. docs/deploy.md explains.
#
# Environment:
#   STAGE            dev or prod (required)
#   AWS_REGION       region to deploy to (else the AWS CLI's configured region)
#   ARTIFACT_BUCKET  S3 bucket for code and template (else the bootstrap stack's output)
#   CFN_ROLE_ARN     role CloudFormation deploys with (else the bootstrap stack's output, if any)
#   PUBLIC_BASE_URL  the app's public URL, e.g. a custom domain (else the REST API's own URL);
#                    Twilio calls the stack output TwilioWebhookBaseUrl
#   ALARM_EMAIL      address to subscribe to the alarm topic (else unchanged)
#   KMS_KEY_ARN      a customer-managed KMS key for the stage's data (else unchanged;
#                    docs/deploy.md "Security posture"; "none" goes back to AWS's keys)
#   BOOTSTRAP_STACK  name of the bootstrap stack (default sms-bridge-bootstrap)
#   BUILD_DIR        where make package wrote the stage (default build/$STAGE)
set -euo pipefail
cd "$(dirname "$0")/.."

STAGE=${STAGE:?set STAGE=dev or STAGE=prod}
PYTHON=${PYTHON:-.venv/bin/python}
STACK=sms-bridge-$STAGE
BUILD=${BUILD_DIR:-build/$STAGE}
BOOTSTRAP_STACK=${BOOTSTRAP_STACK:-sms-bridge-bootstrap}
PENDING_URL=https://pending.invalid

say() { printf '%s\n' "deploy[$STAGE]: $*" >&2; }
die() { say "$*"; exit 1; }

command -v aws >/dev/null || die "the AWS CLI (v2) is not installed: https://docs.aws.amazon.com/cli/"
[ -f "$BUILD/template.json" ] || die "$BUILD/template.json is missing: run make package STAGE=$STAGE"
export AWS_REGION=${AWS_REGION:-$(aws configure get region || true)}
[ -n "$AWS_REGION" ] || die "no region: export AWS_REGION or run aws configure"
aws sts get-caller-identity --query Arn --output text >/dev/null || die "no AWS credentials"

stack_output() {  # stack_output STACK KEY -> value, or empty when there is no such stack or output
    local value
    value=$(aws cloudformation describe-stacks --stack-name "$1" \
        --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text 2>/dev/null) || value=
    [ "$value" = None ] && value=
    printf '%s' "$value"
}

ARTIFACT_BUCKET=${ARTIFACT_BUCKET:-$(stack_output "$BOOTSTRAP_STACK" ArtifactBucket)}
[ -n "$ARTIFACT_BUCKET" ] || die "no ARTIFACT_BUCKET and no $BOOTSTRAP_STACK stack: see docs/deploy.md, 'Once per account'"
CFN_ROLE_ARN=${CFN_ROLE_ARN:-$(stack_output "$BOOTSTRAP_STACK" CloudFormationExecutionRoleArn)}

STATUS=$(aws cloudformation describe-stacks --stack-name "$STACK" --query 'Stacks[0].StackStatus' --output text 2>/dev/null || true)
case "$STATUS" in
    ROLLBACK_COMPLETE | ROLLBACK_FAILED)
        die "stack $STACK failed its first creation ($STATUS). Read why in its events, delete it and the empty tables it kept (docs/deploy.md, 'When a first deploy fails'), then run again." ;;
    *_IN_PROGRESS)
        die "stack $STACK is busy ($STATUS): wait for it and run again" ;;
esac

failures() {
    say "the deploy failed; CloudFormation rolled back. The first failures:"
    aws cloudformation describe-stack-events --stack-name "$STACK" --max-items 60 \
        --query "StackEvents[?ends_with(ResourceStatus, 'FAILED')].[LogicalResourceId,ResourceStatusReason]" \
        --output text | tail -n 8 >&2 || true
    exit 1
}

# 1. Every parameter the stage reads must exist before anything changes.
mapfile -t PARAMETERS < <("$PYTHON" - "$STAGE" <<'EOF'
import json, sys
stage = sys.argv[1]
env = json.load(open(".chalice/config.json"))["stages"][stage]["environment_variables"]
for name, value in env.items():
    if name.endswith("_PARAM"):
        print(value)
print(f"/sms-bridge/{stage}/twilio-account-sid")
print(f"/sms-bridge/{stage}/chat-webhook-url")
EOF
)
MISSING=$(aws ssm get-parameters --names "${PARAMETERS[@]}" --query InvalidParameters --output text | sed 's/^None$//')
[ -z "$MISSING" ] || die "missing SSM parameters: $MISSING (docs/deploy.md, 'Secrets and settings')"

# 2. The app's public URL (PublicBaseUrl): given, else the REST API's own once the stack exists.
EXISTING_URL=$(stack_output "$STACK" EndpointURL)
URL=${PUBLIC_BASE_URL:-${EXISTING_URL%/}}
URL=${URL:-$PENDING_URL}

# 3. Upload the code and deploy the template (one change set; rolls back on failure).
say "uploading code to s3://$ARTIFACT_BUCKET/$STACK/"
aws cloudformation package --template-file "$BUILD/template.json" --use-json \
    --s3-bucket "$ARTIFACT_BUCKET" --s3-prefix "$STACK" \
    --output-template-file "$BUILD/packaged.json" >/dev/null

deploy() {
    local overrides=("PublicBaseUrl=$1")
    if [ -n "${ALARM_EMAIL:-}" ]; then overrides+=("AlarmEmail=$ALARM_EMAIL"); fi
    # Given once, kept by later deploys (CloudFormation reuses a parameter's previous value).
    if [ -n "${TWILIO_MESSAGING_SERVICE_SID:-}" ]; then overrides+=("TwilioMessagingServiceSid=$TWILIO_MESSAGING_SERVICE_SID"); fi
    if [ -n "${DELIVERY_RETENTION_DAYS:-}" ]; then overrides+=("DeliveryRetentionDays=$DELIVERY_RETENTION_DAYS"); fi
    # Twilio Lookup at hook-up (README "Lookup at hook-up"): packages, or none to turn it off.
    if [ "${TWILIO_LOOKUP_FIELDS:-}" = none ]; then overrides+=("TwilioLookupFields=");
    elif [ -n "${TWILIO_LOOKUP_FIELDS:-}" ]; then overrides+=("TwilioLookupFields=$TWILIO_LOOKUP_FIELDS"); fi
    if [ -n "${TWILIO_LOOKUP_ON_FAILURE:-}" ]; then overrides+=("TwilioLookupOnFailure=$TWILIO_LOOKUP_ON_FAILURE"); fi
    if [ "${KMS_KEY_ARN:-}" = none ]; then overrides+=("KmsKeyArn=");
    elif [ -n "${KMS_KEY_ARN:-}" ]; then overrides+=("KmsKeyArn=$KMS_KEY_ARN"); fi
    local role=()
    if [ -n "$CFN_ROLE_ARN" ]; then role=(--role-arn "$CFN_ROLE_ARN"); fi
    say "deploying stack $STACK (PublicBaseUrl=$1)"
    aws cloudformation deploy --template-file "$BUILD/packaged.json" --stack-name "$STACK" \
        --s3-bucket "$ARTIFACT_BUCKET" --s3-prefix "$STACK" \
        --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
        --no-fail-on-empty-changeset "${role[@]}" \
        --tags app=sms-bridge "stage=$STAGE" \
        --parameter-overrides "${overrides[@]}" || failures
}
deploy "$URL"

# 4. A first deploy learns the API's URL only now: deploy again with it.
if [ "$URL" = "$PENDING_URL" ]; then
    URL=$(stack_output "$STACK" EndpointURL)
    URL=${URL%/}
    deploy "$URL"
fi

if [ "$STAGE" = prod ]; then
    aws cloudformation update-termination-protection --enable-termination-protection --stack-name "$STACK" >/dev/null
fi

say "done. Chat API (HTTP API, \$1.00 per million requests): $(stack_output "$STACK" ChatApiUrl)"
say "the same on the REST API (\$3.50 per million): $(stack_output "$STACK" EndpointURL)"
say "Twilio webhooks (set on each pool number by POST /numbers): $(stack_output "$STACK" TwilioWebhookBaseUrl)/twilio/sms and /twilio/status"
aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='ChatApiUrl' || OutputKey=='EndpointURL' || OutputKey=='TwilioWebhookBaseUrl' || OutputKey=='RequestsQueueUrl' || OutputKey=='DashboardUrl' || OutputKey=='AlarmTopicArn'].[OutputKey,OutputValue]" \
    --output text
