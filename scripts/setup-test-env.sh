#!/usr/bin/env bash
# Installs the real programs the test suite talks to (Debian 12, as root):
# SIP peers (SIPp, baresip, kamailio), speech engines (espeak-ng, flite, pocketsphinx),
# sox for audio checks, tshark for captures, spandsp (G.722 reference, via python3 ctypes),
# chromium for the dashboard's browser tests (driven by playwright-core, which downloads no browser);
# then makes sure PostgreSQL is running.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  sip-tester baresip-core kamailio espeak-ng flite sox tshark pocketsphinx pocketsphinx-en-us libspandsp2 python3 chromium \
  postgresql-client >/dev/null
# Live tests bind fixed RTP port ranges (30000-49999, one range per test file) inside Linux's ephemeral
# range (32768-60999): reserve them so the kernel never hands one out for an outgoing connection or a
# port-0 bind meanwhile (explicit binds still work). Skipped where /proc/sys is read-only.
sysctl -q -w net.ipv4.ip_local_reserved_ports=30000-49999 2>/dev/null || echo "note: could not reserve ports 30000-49999 for the tests' RTP ranges" >&2
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  fi
fi
pg_isready -h 127.0.0.1 -p 5432
