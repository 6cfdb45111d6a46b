#!/usr/bin/env bash
# testdeps: make sure this machine has what `make test` needs, installing what is missing when it
# can (as root, or with a sudo that needs no password), and otherwise stopping at once with the one
# command that installs it. Debian package names; `make test` and .ci/run call it.
#
# It needs nothing but bash to check: every probe is a builtin, so it runs the same under a PATH
# that holds only the tools it looks for (internal/e2e/setup_test.go does exactly that).
#
# Environment:
#   FABSYNC_TESTDEPS_NO_INSTALL=1   never install; report what is missing and fail
#   FABSYNC_TESTDEPS_FONT_DIR=DIR   look for fonts only under DIR (default: the system font dirs)
set -euo pipefail

# What the tests need: command, Debian package, what it is for.
deps=(
  "redis-server|redis-server|the private Redis each test package starts"
  "git|git|the test git servers, git http-backend"
  "chromium|chromium|the browser tests"
  "gcc|gcc|the race detector, which needs cgo"
  "make|make|the make targets"
  "gpg|gnupg|the signed-commit tests (gpg makes and verifies OpenPGP signatures)"
  "ssh-keygen|openssh-client|the signed-commit tests (ssh-keygen makes SSH keys; git verifies SSH signatures with it)"
)

missing=() # Debian packages to install
reasons=() # what each of them is for

# find_missing fills missing and reasons from what is not on this machine.
find_missing() {
  missing=()
  reasons=()
  local dep cmd pkg why
  for dep in "${deps[@]}"; do
    IFS='|' read -r cmd pkg why <<<"$dep"
    if ! command -v "$cmd" >/dev/null 2>&1; then
      missing+=("$pkg")
      reasons+=("$why")
    fi
  done
  # Chromium's recommended packages bring its fonts; without any font the browser tests render
  # nothing to read. Only asked for separately when chromium itself is already there.
  if command -v chromium >/dev/null 2>&1 && ! have_fonts; then
    missing+=(fonts-liberation)
    reasons+=("the fonts Chromium renders the UI with")
  fi
}

# have_fonts reports whether any TrueType or OpenType font is installed.
have_fonts() {
  local dirs=(/usr/share/fonts /usr/local/share/fonts)
  if [[ -n ${FABSYNC_TESTDEPS_FONT_DIR:-} ]]; then
    dirs=("$FABSYNC_TESTDEPS_FONT_DIR")
  fi
  local d f
  shopt -s globstar nullglob nocaseglob
  for d in "${dirs[@]}"; do
    for f in "$d"/**/*.[ot]t[fc]; do
      [[ -f $f ]] && return 0
    done
  done
  return 1
}

# join prints its arguments separated by ", ".
join() {
  local IFS=,
  local s="$*"
  printf '%s' "${s//,/, }"
}

find_missing
if ((${#missing[@]} == 0)); then
  exit 0
fi

# How to install: directly as root, through a sudo that asks no password, or not at all.
apt=()
if [[ ${FABSYNC_TESTDEPS_NO_INSTALL:-} != 1 && ${FABSYNC_TESTDEPS_NO_INSTALL:-} != true ]] &&
  command -v apt-get >/dev/null 2>&1; then
  if ((EUID == 0)); then
    export DEBIAN_FRONTEND=noninteractive
    apt=(apt-get)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    # sudo resets the environment, so the front end is set on the far side of it.
    apt=(sudo -n env DEBIAN_FRONTEND=noninteractive apt-get)
  fi
fi

if ((${#apt[@]} == 0)); then
  sudo="sudo "
  if ((EUID == 0)); then sudo=""; fi
  them=them
  if ((${#missing[@]} == 1)); then them=it; fi
  note=""
  if ! command -v apt-get >/dev/null 2>&1; then note=" (Debian package names)"; fi
  echo "testdeps: missing $(join "${missing[@]}"); install $them with: ${sudo}apt-get install -y ${missing[*]}$note" >&2
  exit 1
fi

for i in "${!missing[@]}"; do
  echo "testdeps: installing ${missing[$i]} (for ${reasons[$i]})"
done
# With its recommended packages: chromium's bring the fonts, gcc's the C library headers cgo needs.
if ! "${apt[@]}" update -qq >/dev/null ||
  ! "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null; then
  echo "testdeps: apt-get could not install $(join "${missing[@]}") (its error is above)" >&2
  exit 1
fi

want=("${missing[@]}")
find_missing
if ((${#missing[@]} > 0)); then
  echo "testdeps: still missing $(join "${missing[@]}") after installing ${want[*]}" >&2
  exit 1
fi
