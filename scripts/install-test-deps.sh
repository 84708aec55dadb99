#!/usr/bin/env bash
# Installs what the tests run for real and a fresh Debian machine lacks, from Debian's packages. Safe to run
# again: it installs only what is missing.
set -euo pipefail

# One package a line, with what needs it.
packages=(
  prometheus               # Prometheus and promtool: trigger queries, backfills, the playground's --demo
  prometheus-alertmanager  # a real Alertmanager delivering its webhook to the bot (devkit/alertmanager)
  openssh-server           # a private sshd on loopback for runbook steps
  rsync                    # the vertical-migration runbooks' copies, run for real between two app dirs
  sudo                     # their `sudo -n rsync` and the bot's `sudo -n -l` check, with a rule of the test's own
  curl                     # the load balancer runbook's health checks; the vertical-migration test's `docker compose` stand-in
  postgresql               # real PostgreSQL clusters: the replica and failover runbooks, the bot's PostgreSQL storage and replicas
  systemd                  # systemd-analyze verify checks deploy/scalebot.service
  chromium                 # the playground's browser tests (playwright-core drives /usr/bin/chromium)
  fonts-noto-color-emoji   # emoji in the playground's screenshots (test-artifacts/playground/)
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies present: ${packages[*]}"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run this as root, or install sudo: it needs apt-get install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
# policy-rc.d keeps the packages' own services (a system Prometheus on :9090, Alertmanager on :9093, the system
# sshd) from starting: the tests start their own, on free loopback ports.
printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
$sudo chmod +x /usr/sbin/policy-rc.d
trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
