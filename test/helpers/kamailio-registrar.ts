/**
 * A carrier's registrar as kamailio config: REGISTERs are challenged (digest SHA-256, one password for
 * every user) and kept in memory (usrloc); every INVITE goes, record-routed, to whatever Contact
 * `callsTo` registered (480 when it has none), as carriers route a DID to "where the account is
 * registered". The Request-URI becomes that Contact; the number stays in To.
 */
import { kamailioPreamble, ROUTE_IN_DIALOG } from './kamailio.js';

export interface RegistrarConfigOptions {
  /** The address it listens on (default 127.0.0.1). */
  host?: string;
  port: number;
  password: string;
  /** The user whose binding receives every INVITE. */
  callsTo: string;
  /** kamailio UDP worker processes (default 1). */
  children?: number;
  /** Also listen on TCP, same address and port. */
  tcp?: boolean;
}

export function registrarConfig(o: RegistrarConfigOptions): string {
  return `${kamailioPreamble({ host: o.host ?? '127.0.0.1', port: o.port, ...(o.children !== undefined ? { children: o.children } : {}), ...(o.tcp ? { tcp: true } : {}) })}loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("auth", "algorithm", "SHA-256")
modparam("auth", "secret", "registrar-nonce-secret")
modparam("usrloc", "db_mode", 0)

request_route {
${ROUTE_IN_DIALOG}
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("$td", "${o.password}", "0")) {
      xlog("L_INFO", "REGISTER challenge for $tU (ret=$rc)\\n");
      www_challenge("$td", "1");
      exit;
    }
    consume_credentials();
    if (!save("location")) { sl_reply_error(); exit; }
    xlog("L_INFO", "REGISTER saved $tU contact $ct expires $hdr(Expires)\\n");
    exit;
  }
  if (is_method("INVITE")) {
    record_route();
    if (!lookup("location", "sip:${o.callsTo}@${o.host ?? '127.0.0.1'}")) {
      xlog("L_INFO", "INVITE for $rU: ${o.callsTo} is not registered\\n");
      sl_send_reply("480", "Temporarily Unavailable");
      exit;
    }
    xlog("L_INFO", "INVITE for $tU relayed to $ru\\n");
    t_relay();
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
`;
}
