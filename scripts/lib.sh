# Sourced by the scripts in scripts/ and bench/.

# iridium_binary DIR prints the iridium binary to run: $IRIDIUM if set,
# else a static build (CGO_ENABLED=0 starts about 3 ms faster, see the
# README) made in DIR.
iridium_binary() {
  if [ -n "${IRIDIUM:-}" ]; then
    echo "$IRIDIUM"
    return
  fi
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  (cd "$root" && CGO_ENABLED=0 go build -o "$1/iridium" ./cmd/iridium) >&2 || return 1
  echo "$1/iridium"
}
