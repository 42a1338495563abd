#!/usr/bin/env bash
# Installs the real programs the test suite talks to (Debian 12, as root):
# SIP peers (SIPp, baresip, kamailio with its TLS module), speech engines (espeak-ng, flite, pocketsphinx),
# sox for audio checks, tshark for captures, spandsp (G.722 reference, via python3 ctypes),
# chromium for the dashboard's browser tests (driven by playwright-core, which downloads no browser),
# iproute2 and iptables for the NAT rig of network namespaces (test/net);
# then makes sure PostgreSQL is running.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  sip-tester baresip-core kamailio kamailio-tls-modules espeak-ng flite sox tshark pocketsphinx pocketsphinx-en-us libspandsp2 python3 chromium \
  postgresql-client iproute2 iptables >/dev/null
# Live tests bind fixed RTP port ranges (30000-49999, one range per test file), which lie inside
# Linux's default ephemeral range (32768-60999): the kernel could hand one of them out meanwhile for an
# outgoing connection or a port-0 bind. Ephemeral ports come from 50000-60999 here instead. (Reserving
# 30000-49999 instead is worse: the kernel's scan then piles port-0 binds onto 50000.)
sysctl -q -w net.ipv4.ip_local_reserved_ports= 2>/dev/null || true
sysctl -q -w net.ipv4.ip_local_port_range="50000 60999" 2>/dev/null || echo "note: could not move the ephemeral port range above the tests' RTP ranges" >&2
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  fi
fi
pg_isready -h 127.0.0.1 -p 5432
