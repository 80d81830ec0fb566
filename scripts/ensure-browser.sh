#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests, which drive
# it with playwright-core (`npx playwright install` downloads browsers from the internet,
# which this project's machines do not reach). Installs it from Debian's packages where
# missing. Prints what it did; exits non-zero with a clear message when it cannot.
set -uo pipefail

CHROMIUM=/usr/bin/chromium

runs() { "$CHROMIUM" --version >/dev/null 2>&1; }

if [ -x "$CHROMIUM" ] && runs; then exit 0; fi

if ! command -v apt-get >/dev/null; then
  echo "ensure-browser: $CHROMIUM is missing and this is not a Debian system (no apt-get); install Chromium there by hand for the browser tests (test/*.browser.test.ts)"
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-browser: $CHROMIUM is missing; installing it needs root: run 'apt-get install -y chromium' as root (the browser tests, test/*.browser.test.ts, drive it)"
  exit 1
fi
echo "ensure-browser: $CHROMIUM missing; installing Debian's chromium package (a few minutes on first install)"
# Another apt run (an image build, a second test run) may hold the lock: wait for it rather than fail.
if ! (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null); then
  echo "ensure-browser: cannot install chromium from Debian's package mirror (is the mirror reachable?); run 'apt-get install -y chromium' as root"
  exit 1
fi
runs || { echo "ensure-browser: chromium is installed but '$CHROMIUM --version' fails; see its output"; "$CHROMIUM" --version; exit 1; }
echo "ensure-browser: installed $("$CHROMIUM" --version 2>/dev/null)"
