# Shared by scripts/demo and casegate: install what casegate needs on a fresh machine.

is_root() { [ "$(id -u)" -eq 0 ]; }

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

ensure_uv() {
    if [ -n "${HOME:-}" ]; then export PATH="$HOME/.local/bin:$PATH"; fi
    if ! command -v uv >/dev/null 2>&1; then
        if ! python3 -m pip --version >/dev/null 2>&1; then
            if is_root && command -v apt-get >/dev/null 2>&1; then
                apt_install python3 python3-pip
            else
                echo "casegate: uv is missing and so is pip (python3 -m pip); install uv first" >&2
                exit 1
            fi
        fi
        echo "casegate: installing uv with pip" >&2
        # Debian 12 marks its Python as externally managed (PEP 668), hence the last fallbacks.
        python3 -m pip install --quiet uv \
            || python3 -m pip install --quiet --user uv \
            || python3 -m pip install --quiet --break-system-packages uv \
            || python3 -m pip install --quiet --user --break-system-packages uv
        hash -r
        command -v uv >/dev/null 2>&1 || { echo "casegate: uv installed but not on PATH" >&2; exit 1; }
    fi
}
