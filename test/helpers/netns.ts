/**
 * A small network of Linux network namespaces for live tests (all addresses inside the rig,
 * 10.77.0.0/16): Outcall's host on a private LAN behind a NAT router (iptables MASQUERADE, which
 * also rewrites source ports), and a "carrier" network beyond it.
 *
 *   [out] 10.77.1.2 --- 10.77.1.1 [nat] 10.77.2.1 --- 10.77.2.2 [carrier]
 *
 * The carrier cannot reach 10.77.1.0/24: only replies to what the LAN sent out (and what a NAT
 * binding lets back in) cross the router, as on a home or office connection.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NatRig {
  readonly out: string;
  readonly nat: string;
  readonly carrier: string;
  readonly outIp: string;
  readonly natPublicIp: string;
  readonly carrierIp: string;
  teardown(): void;
}

/** Why namespaces cannot be made here (not root, no ip, no iptables), or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const [bin, args] of [['ip', ['-V']], ['iptables', ['-V']]] as const) {
    const r = spawnSync(bin, [...args], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${bin} is not installed (scripts/setup-test-env.sh)`;
  }
  const probe = `oc-probe-${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const run = (...args: string[]) => execFileSync(args[0] as string, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });

export function createNatRig(): NatRig {
  const id = randomBytes(3).toString('hex');
  const out = `oc-out-${id}`;
  const nat = `oc-nat-${id}`;
  const carrier = `oc-car-${id}`;
  const rig: NatRig = {
    out, nat, carrier, outIp: '10.77.1.2', natPublicIp: '10.77.2.1', carrierIp: '10.77.2.2',
    teardown() {
      for (const ns of [out, nat, carrier]) spawnSync('ip', ['netns', 'del', ns]);
    },
  };
  try {
    for (const ns of [out, nat, carrier]) {
      run('ip', 'netns', 'add', ns);
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
    // veth names are global until moved: keep them unique per rig (15 chars at most).
    run('ip', 'link', 'add', `oa${id}`, 'type', 'veth', 'peer', 'name', `na${id}`);
    run('ip', 'link', 'set', `oa${id}`, 'netns', out);
    run('ip', 'link', 'set', `na${id}`, 'netns', nat);
    run('ip', 'link', 'add', `nc${id}`, 'type', 'veth', 'peer', 'name', `cn${id}`);
    run('ip', 'link', 'set', `nc${id}`, 'netns', nat);
    run('ip', 'link', 'set', `cn${id}`, 'netns', carrier);
    run('ip', '-n', out, 'addr', 'add', '10.77.1.2/24', 'dev', `oa${id}`);
    run('ip', '-n', out, 'link', 'set', `oa${id}`, 'up');
    run('ip', '-n', out, 'route', 'add', 'default', 'via', '10.77.1.1');
    run('ip', '-n', nat, 'addr', 'add', '10.77.1.1/24', 'dev', `na${id}`);
    run('ip', '-n', nat, 'link', 'set', `na${id}`, 'up');
    run('ip', '-n', nat, 'addr', 'add', '10.77.2.1/24', 'dev', `nc${id}`);
    run('ip', '-n', nat, 'link', 'set', `nc${id}`, 'up');
    run('ip', '-n', carrier, 'addr', 'add', '10.77.2.2/24', 'dev', `cn${id}`);
    run('ip', '-n', carrier, 'link', 'set', `cn${id}`, 'up');
    run('ip', 'netns', 'exec', nat, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    // Everything leaving for the carrier side takes the router's address (and a port of its choosing).
    run('ip', 'netns', 'exec', nat, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', `nc${id}`, '-j', 'MASQUERADE');
    // And nothing from the carrier side reaches the LAN unless it answers a binding.
    run('ip', 'netns', 'exec', nat, 'iptables', '-A', 'FORWARD', '-i', `nc${id}`, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP');
  } catch (err) {
    rig.teardown();
    throw err;
  }
  return rig;
}

export interface LanRig {
  /** Namespace name per host, in the order asked. */
  readonly hosts: ReadonlyArray<{ readonly ns: string; readonly ip: string }>;
  /** This (the default) namespace's address on the LAN. */
  readonly hostIp: string;
  teardown(): void;
}

/**
 * Hosts on one LAN (10.78.0.0/24, a bridge in this namespace, which is on it as 10.78.0.1): one
 * namespace per name, 10.78.0.2, .3, ... Services of this namespace (PostgreSQL on its loopback, through
 * a relay on 10.78.0.1) serve them as the machines of one deployment.
 */
export function createLanRig(count: number): LanRig {
  const id = randomBytes(3).toString('hex');
  const bridge = `ob${id}`;
  const hosts = Array.from({ length: count }, (_, i) => ({ ns: `oc-h${i}-${id}`, ip: `10.78.0.${i + 2}` }));
  const rig: LanRig = {
    hosts,
    hostIp: '10.78.0.1',
    teardown() {
      for (const h of hosts) spawnSync('ip', ['netns', 'del', h.ns]);
      spawnSync('ip', ['link', 'del', bridge]);
    },
  };
  try {
    run('ip', 'link', 'add', bridge, 'type', 'bridge');
    run('ip', 'addr', 'add', '10.78.0.1/24', 'dev', bridge);
    run('ip', 'link', 'set', bridge, 'up');
    hosts.forEach((h, i) => {
      run('ip', 'netns', 'add', h.ns);
      run('ip', '-n', h.ns, 'link', 'set', 'lo', 'up');
      run('ip', 'link', 'add', `ol${i}${id}`, 'type', 'veth', 'peer', 'name', `oh${i}${id}`);
      run('ip', 'link', 'set', `oh${i}${id}`, 'netns', h.ns);
      run('ip', 'link', 'set', `ol${i}${id}`, 'master', bridge);
      run('ip', 'link', 'set', `ol${i}${id}`, 'up');
      run('ip', '-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', `oh${i}${id}`);
      run('ip', '-n', h.ns, 'link', 'set', `oh${i}${id}`, 'up');
    });
  } catch (err) {
    rig.teardown();
    throw err;
  }
  return rig;
}
