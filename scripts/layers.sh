#!/usr/bin/env bash
# Checks that every project include points down the layers of docs/architecture.md: a file may
# include headers of its own layer and of the layers below it, never of a layer above or beside
# it. The build's per-layer link checks catch an upward call; this names the include behind it.
# Usage: scripts/layers.sh [REPO]   (exit 1 and one line per wrong include)
set -euo pipefail
cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}"

# layer_of PATH: the layer a source file or header belongs to (empty: not layered, e.g. tests).
layer_of() {
    case $1 in
        base/*) echo base ;;
        db/*) echo db ;;
        providers/*) echo providers ;;
        pipeline/run/*) echo run ;;
        pipeline/resource/*) echo resource ;;
        pipeline/*) echo core ;;
        handlers/*) echo handlers ;;
        main.c) echo main ;;
    esac
}

# What each layer may include besides itself.
declare -A below=(
    [base]=""
    [db]="base"
    [providers]="base"
    [core]="base db"
    [run]="base db providers core"
    [resource]="base db core"
    [handlers]="base db providers core run resource"
    [main]="base db providers core run resource handlers"
)

bad=0 files=0
while IFS= read -r file; do
    from=$(layer_of "$file")
    [[ -n $from ]] || continue
    files=$((files + 1))
    while IFS=: read -r line header; do
        to=$(layer_of "$header")
        [[ -z $to || $to == "$from" || " ${below[$from]} " == *" $to "* ]] && continue
        echo "$file:$line: includes $header: layer $from may not include layer $to (docs/architecture.md)"
        bad=1
    done < <(grep -n '^#include "' "$file" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1:\2/')
done < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null ||
    find . -name '*.[ch]' -not -path './build*' | sed 's|^\./||')
((files > 0)) || { echo "layers.sh: no source files found" >&2; exit 1; }
((bad == 0)) && echo "layers: $files files, every include points down"
exit "$bad"
