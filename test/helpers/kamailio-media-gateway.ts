/**
 * A carrier's SBC that anchors media, as kamailio config: every INVITE is record-routed to one callee,
 * and the SDP of both sides is rewritten so that each sends its RTP to a media relay of the carrier
 * (test/helpers/impairing-relay.ts) instead of to the other: the offer's c=/m= become the relay's
 * callee-facing port, the answer's c=/m= its caller-facing port. Fixed ports keep it to textops'
 * subst_body (kamailio updates Content-Length for body changes); the relay learns each side's real
 * address from the first packet it receives (symmetric RTP), as carriers' media servers do.
 */
import { kamailioPreamble, ROUTE_IN_DIALOG } from './kamailio.js';

export interface MediaGatewayOptions {
  host: string;
  port: number;
  /** Where every INVITE goes (the callee's SIP address). */
  callee: { host: string; port: number };
  /** The relay's RTP port that the caller (our side) sends to, and the one the callee sends to. */
  relay: { host: string; callerPort: number; calleePort: number };
}

export function mediaGatewayConfig(o: MediaGatewayOptions): string {
  return `${kamailioPreamble({ host: o.host, port: o.port })}
request_route {
${ROUTE_IN_DIALOG}
  if (is_method("INVITE")) {
    record_route();
    if (has_body("application/sdp")) {
      subst_body("/c=IN IP4 [0-9.]+/c=IN IP4 ${o.relay.host}/g");
      subst_body("/m=audio [0-9]+ /m=audio ${o.relay.calleePort} /");
      xlog("L_INFO", "INVITE for $rU: media anchored at ${o.relay.host}\\n");
    }
    $du = "sip:${o.callee.host}:${o.callee.port}";
    t_on_reply("ANCHOR");
    t_relay();
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}

onreply_route[ANCHOR] {
  if (status =~ "^(18[03]|200)" && has_body("application/sdp")) {
    subst_body("/c=IN IP4 [0-9.]+/c=IN IP4 ${o.relay.host}/g");
    subst_body("/m=audio [0-9]+ /m=audio ${o.relay.callerPort} /");
  }
}
`;
}
