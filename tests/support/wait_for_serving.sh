# Sourced by the shell tests that start a tutoring-server themselves.
#
#   wait_for_serving LOG PID [TENTHS]
#
# Waits (up to TENTHS tenths of a second, default 300) until the server
# whose stderr goes to LOG has logged its port and "health SERVING"; sets
# $server_port. Returns 1, after printing the log, when PID exits first or
# the time is up.
wait_for_serving() {
  local log="$1" pid="$2" tenths="${3:-300}" _
  server_port=""
  for _ in $(seq "$tenths"); do
    server_port="$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log" 2>/dev/null | head -n 1)"
    [[ -n "$server_port" ]] && grep -q "health SERVING" "$log" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      echo "tutoring-server exited before it was SERVING" >&2
      server_port=""
      return 1
    fi
    sleep 0.1
  done
  cat "$log" >&2
  echo "tutoring-server did not become SERVING" >&2
  server_port=""
  return 1
}
