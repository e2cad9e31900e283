# follow.awk: bench/cluster.sh's reader of `tail -F` over the nodes' logs.
# It prints the latest of the stamps with which each of `want` files first
# showed a line ending in `suffix` (" members N"), once all of them have,
# and exits.
#
# tail names the file ("==> n7.log <==") before the lines that come from
# it, after an empty line; but when it switches files in the middle of a
# line it ends the piece there, and the header follows with no empty line.
# So a line is taken once the next one is seen, and a piece cut short
# waits for the rest of its file's line. Stamps are all of one length and
# compare as strings.
function take(line, f) {
  if (substr(line, length(line) - length(suffix) + 1) != suffix || f in seen) return
  seen[f] = 1
  split(line, field, " ")
  if (field[1] > max) max = field[1]
  if (++n == want) { print max; exit }
}
function header(line) { return line ~ /^==> .* <==$/ }
{
  if (NR > 1 && !header(prev)) {
    if (header($0) && prev != "") {
      piece[prevfile] = piece[prevfile] prev
    } else {
      line = piece[prevfile] prev
      piece[prevfile] = ""
      take(line, prevfile)
    }
  }
  if (header($0)) file = substr($0, 5, length($0) - 8)
  prev = $0
  prevfile = file
}
