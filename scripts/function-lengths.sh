#!/usr/bin/env bash
# The length of every top-level C function in the given files, longest first:
# "LINES FILE:LINE NAME". A function runs from the line that names it (the
# last unindented line before its opening brace) to its closing brace at
# column 0; braces inside strings, character constants and comments are not
# counted. With --max N, print only the functions longer than N lines and
# exit 1 if there are any (the guard of "no production function is longer
# than 120 lines", tests/integration/function_lengths.sh).
# usage: function-lengths.sh [--max N] FILE...
set -u
max=
if [ "${1:-}" = --max ]; then max=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [--max N] FILE..." >&2; exit 2; }
awk -v max="${max:-0}" '
FNR == 1 { depth = 0; incomment = 0; sig = ""; sigline = 0; infn = 0 }
{
    line = $0
    # strip comments (block comments may span lines), strings and chars
    out = ""
    while (length(line) > 0) {
        if (incomment) {
            e = index(line, "*/")
            if (!e) { line = ""; break }
            line = substr(line, e + 2); incomment = 0; continue
        }
        b = index(line, "/*")
        if (!b) { out = out line; break }
        out = out substr(line, 1, b - 1); line = substr(line, b + 2); incomment = 1
    }
    line = out
    gsub(/"([^"\\]|\\.)*"/, "\"\"", line)
    gsub(/\x27([^\x27\\]|\\.)*\x27/, "0", line)
    sub(/\/\/.*$/, "", line)
    if (depth == 0 && line ~ /^[A-Za-z_]/ && line !~ /^#/) {
        if (line ~ /\(/) { sig = $0; sigline = FNR }
    }
    o = gsub(/\{/, "{", line); c = gsub(/\}/, "}", line)
    if (depth == 0 && o > c && sig != "" && line !~ /=[ \t]*\{/ && line !~ /^(struct|enum|union)[^(]*\{/) {
        infn = 1; start = sigline; name = sig
    }
    depth += o - c
    if (infn && depth == 0) {
        n = FNR - start + 1
        sub(/\(.*/, "", name); k = split(name, w, /[ \t*]+/); name = w[k]
        if (n > max) print n, FILENAME ":" start, name
        infn = 0; sig = ""
    }
    if (depth == 0 && line ~ /;[ \t]*$/) sig = ""
}' "$@" | sort -rn > "${TMPDIR:-/tmp}/fnlen.$$"
cat "${TMPDIR:-/tmp}/fnlen.$$"
found=$(wc -l < "${TMPDIR:-/tmp}/fnlen.$$")
rm -f "${TMPDIR:-/tmp}/fnlen.$$"
[ -z "$max" ] || [ "$found" -eq 0 ]
