# Shared by scripts/run-app and scripts/test: find a Python 3.11-3.13, create .venv, install the
# project (editable) with the given extras, and skip the install when pyproject.toml did not change.
# shellcheck shell=sh

find_python() {
    for candidate in "${CRONMIRROR_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' \
            2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "CronMirror needs Python 3.11, 3.12 or 3.13 (macOS: brew install python@3.12;" \
        "Debian/Ubuntu: sudo apt-get install python3 python3-venv)." >&2
    return 1
}

ensure_venv() {
    extras="$1"
    if [ ! -x .venv/bin/python ]; then
        python=$(find_python) || exit 1
        echo "Creating .venv with $("$python" --version)" >&2
        "$python" -m venv .venv
    fi
    stamp=".venv/.cronmirror-installed-$extras"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "Installing CronMirror${extras:+ [$extras]} into .venv" >&2
        .venv/bin/python -m pip install --quiet --upgrade pip
        if [ -n "$extras" ]; then
            .venv/bin/python -m pip install --quiet -e ".[$extras]"
        else
            .venv/bin/python -m pip install --quiet -e .
        fi
        touch "$stamp"
    fi
}
