#!/bin/sh
# Follow qmp-sidecar's event stream and act on events through its API (curl and jq).
#
# Reads GET /v1/events as NDJSON, keeps the id of every event it handled in a state file and
# resumes after it (?since=ID) across restarts of the sidecar and of itself: no event is lost or
# handled twice unless the stream says so with a gap (then it re-reads the state). It records the
# deletion of DPU functions (DEVICE_DELETED of a device whose id starts with $DPU_PREFIX) in a
# file and resets a VM whose guest panicked (GUEST_PANICKED). One line per event handled, action
# and gap on stdout. docs/automation.md has the guarantees; README.md here how to run it.
#
# usage: follow-events.sh STATE_FILE RECORD_FILE
# environment: QMP_SIDECAR_API (the API's Unix socket, default /run/qmp-sidecar/api.sock),
#              DPU_PREFIX (default dpu-)
set -u
state=${1:?usage: follow-events.sh STATE_FILE RECORD_FILE}
record=${2:?usage: follow-events.sh STATE_FILE RECORD_FILE}
api=${QMP_SIDECAR_API:-/run/qmp-sidecar/api.sock}
prefix=${DPU_PREFIX:-dpu-}

call() { # METHOD PATH [BODY]: the API's answer on stdout; fails on an HTTP error
  if [ $# -ge 3 ]; then
    curl -sSf --unix-socket "$api" -X "$1" -H 'content-type: application/json' --data "$3" "http://localhost$2"
  else
    curl -sSf --unix-socket "$api" -X "$1" "http://localhost$2"
  fi
}

reread() { # what the missed events would have said, from the state routes
  for vm in $(call GET /v1/vms | jq -r '.[].name'); do
    echo "state: $vm $(call GET "/v1/vms/$vm/devices" | jq -c '[.[].id] | sort')"
  done
}

handle() { # TYPE ID VM DEVICE
  case "$1" in
    qmp.DEVICE_DELETED)
      case "$4" in "$prefix"*)
        jq -cn --argjson event "$2" --arg vm "$3" --arg device "$4" '{event: $event, vm: $vm, device: $device}' >> "$record"
        echo "recorded the deletion of $4 from $3";;
      esac;;
    qmp.GUEST_PANICKED)
      call POST "/v1/vms/$3/qmp" '{"execute":"system_reset"}' > /dev/null && echo "reset $3 after its panic (event $2)";;
  esac
}

while true; do
  last=$(cat "$state" 2>/dev/null || true)
  echo "following${last:+ after event $last}"
  # -N: no buffering; the sidecar sends a heartbeat every 15 s, so 45 s of silence means a dead stream.
  curl -sSN --unix-socket "$api" --speed-limit 1 --speed-time 45 \
      "http://localhost/v1/events?format=ndjson${last:+&since=$last}" |
  while IFS= read -r line; do
    fields=$(printf '%s\n' "$line" | jq -r '[.type, (.id // 0), (.vm // ""), (.data.device // ""), (.reason // ""),
        (.detail // "")] | @tsv') || continue
    type=$(printf '%s' "$fields" | cut -f1)
    id=$(printf '%s' "$fields" | cut -f2)
    case "$type" in
      heartbeat) continue;;
      gap) echo "gap ($(printf '%s' "$fields" | cut -f5)): $(printf '%s' "$fields" | cut -f6)"; reread; continue;;
      error) echo "the sidecar cut the stream off: $(printf '%s' "$fields" | cut -f6)"; continue;;
    esac
    done_id=$(cat "$state" 2>/dev/null || echo 0)
    [ "$id" -gt "${done_id:-0}" ] || continue # already handled: never act twice
    handle "$type" "$id" "$(printf '%s' "$fields" | cut -f3)" "$(printf '%s' "$fields" | cut -f4)"
    printf '%s\n' "$id" > "$state.tmp" && mv "$state.tmp" "$state"
    echo "event $id $type $(printf '%s' "$fields" | cut -f3)"
  done
  echo "stream ended; reconnecting in 1 s"
  sleep 1
done
