#!/usr/bin/env bash
# make demo: run livegate-cloud on the embedded defaults (bbolt in a temp data
# dir, --dev for a local webhook receiver), create a test tenant, create a
# session, simulate a pass, receive and verify the signed webhook, fetch the
# result and the ICAO photo — printing each step's curl command — and leave
# the server running with its URLs printed. With CI=true it stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=bin/livegate-cloud
if [ ! -x "$BIN" ]; then
  mkdir -p bin && (cd cloud && go build -o ../bin/ ./cmd/livegate-cloud)
fi

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[36m$ %s\033[0m\n' "$*"; }
field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${LIVEGATE_DEMO_PORT:-8000}
while ! port_free "$PORT"; do PORT=$((PORT + 1)); done
BASE="http://localhost:$PORT"
DATA=$(mktemp -d -t livegate-demo-XXXXXX)
ADMIN_TOKEN=$(rand_hex 16)

SERVER_PID=""; LISTEN_PID=""
cleanup() {
  [ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null || true
  if [ "${KEEP:-0}" != 1 ]; then
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$DATA"
  fi
}
trap cleanup EXIT

bold "1. Start livegate-cloud (bbolt store in $DATA, dev mode)"
show "LIVEGATE_ADMIN_TOKEN=$ADMIN_TOKEN $BIN serve --addr 127.0.0.1:$PORT --data $DATA --dev --log-format text"
LIVEGATE_ADMIN_TOKEN=$ADMIN_TOKEN "$BIN" serve --addr "127.0.0.1:$PORT" --data "$DATA" --dev --log-format text \
  >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/server.log"; echo "demo: server exited"; exit 1; }
  sleep 0.1
done
show "curl $BASE/readyz"
curl -fsS "$BASE/readyz"; echo

bold "2. Create a test-mode tenant (admin API)"
show "curl -X POST $BASE/admin/v1/tenants -H 'Authorization: Bearer \$ADMIN_TOKEN' -H 'Content-Type: application/json' -d '{\"name\": \"Demo Corp\", \"mode\": \"test\"}'"
TENANT=$(curl -fsS -X POST "$BASE/admin/v1/tenants" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "Demo Corp", "mode": "test"}')
echo "$TENANT"
API_KEY=$(echo "$TENANT" | field api_key)
WEBHOOK_SECRET=$(echo "$TENANT" | field webhook_secret)

bold "3. Start a local webhook receiver that verifies Livegate-Signature"
show "$BIN webhook-listen --addr 127.0.0.1:0 --secret \$WEBHOOK_SECRET --count 1"
"$BIN" webhook-listen --addr 127.0.0.1:0 --secret "$WEBHOOK_SECRET" --count 1 --url-file "$DATA/hook.url" \
  >"$DATA/webhook.log" 2>&1 &
LISTEN_PID=$!
for _ in $(seq 100); do [ -s "$DATA/hook.url" ] && break; sleep 0.05; done
HOOK_URL=$(cat "$DATA/hook.url")
echo "receiver: $HOOK_URL"

bold "4. Create a managed session (your backend, with the tenant API key)"
BODY="{\"user_id\": \"user_123\", \"mode\": \"passive\", \"redirect_url\": \"http://localhost:3000/verify/done?ref=demo\", \"webhook_url\": \"$HOOK_URL\"}"
show "curl -X POST $BASE/api/v1/managed-session -H 'Authorization: Bearer \$API_KEY' -H 'Content-Type: application/json' -d '$BODY'"
SESSION=$(curl -fsS -X POST "$BASE/api/v1/managed-session" -H "Authorization: Bearer $API_KEY" \
  -H 'Content-Type: application/json' -H "Idempotency-Key: demo-$(rand_hex 4)" -d "$BODY")
echo "$SESSION"
SESSION_ID=$(echo "$SESSION" | field session_id)
TOKEN=$(echo "$SESSION" | field token)
SESSION_URL=$(echo "$SESSION" | field session_url)

bold "5. The user would open session_url (it shows the session's state)"
echo "$SESSION_URL"

bold "6. Test mode: simulate a pass (as a real capture would complete it)"
show "curl -X POST $BASE/api/v1/session/$SESSION_ID/simulate -H 'Authorization: Bearer \$API_KEY' -H 'Content-Type: application/json' -d '{\"verdict\": \"pass\"}'"
curl -fsS -X POST "$BASE/api/v1/session/$SESSION_ID/simulate" -H "Authorization: Bearer $API_KEY" \
  -H 'Content-Type: application/json' -d '{"verdict": "pass"}'; echo

bold "7. The signed webhook arrives and is verified by the receiver"
for _ in $(seq 200); do kill -0 "$LISTEN_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$LISTEN_PID" 2>/dev/null; then cat "$DATA/webhook.log"; echo "demo: no verified webhook within 10 s"; exit 1; fi
wait "$LISTEN_PID" || { cat "$DATA/webhook.log"; echo "demo: receiver failed"; exit 1; }
LISTEN_PID=""
cat "$DATA/webhook.log"
grep -q "signature verified" "$DATA/webhook.log"

bold "8. Fetch the result (server-side pull with the session token)"
show "curl '$BASE/api/v1/session/$SESSION_ID/result?token=\$TOKEN'"
curl -fsS "$BASE/api/v1/session/$SESSION_ID/result?token=$TOKEN"; echo

bold "9. Download the ICAO photo (480x600 JPEG, marked as a test image)"
show "curl -o photo.jpg '$BASE/api/v1/session/$SESSION_ID/photo?token=\$TOKEN'"
PHOTO=$DATA/photo.jpg
curl -fsS -o "$PHOTO" -w 'HTTP %{http_code}, %{content_type}, %{size_download} bytes\n' \
  "$BASE/api/v1/session/$SESSION_ID/photo?token=$TOKEN"
if command -v file >/dev/null; then file "$PHOTO"; fi

bold "10. The same session in seed 002's shape"
show "curl $BASE/v1/liveness/sessions/$SESSION_ID -H 'Authorization: Bearer \$API_KEY'"
curl -fsS "$BASE/v1/liveness/sessions/$SESSION_ID" -H "Authorization: Bearer $API_KEY"; echo

if [ "${CI:-}" = "true" ]; then
  bold "CI=true: stopping the server"
  exit 0
fi
KEEP=1
bold "livegate-cloud is running (pid $SERVER_PID)"
cat <<EOT
  API             $BASE
  API reference   $BASE/docs/api
  OpenAPI         $BASE/openapi.json
  Error codes     $BASE/docs/reference/error-codes
  Session page    $SESSION_URL
  Data dir        $DATA (server log: $DATA/server.log)
  Photo           $PHOTO
  Admin token     $ADMIN_TOKEN
  API key         $API_KEY
  Webhook secret  $WEBHOOK_SECRET
Stop it with: kill $SERVER_PID
EOT
