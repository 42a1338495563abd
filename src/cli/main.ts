#!/usr/bin/env node
import { loadConfig } from '../config.js';
import { OutcallError } from '../errors.js';
import { CliError } from './client/api.js';
import { callCommand } from './client/call-command.js';
import { resourceCommand, RESOURCES } from './client/resources-command.js';
import { testCommand } from './client/test-command.js';
import { apiNode } from './api-node.js';
import { serve } from './serve.js';
import { migrateCommand } from './migrate.js';
import { worker } from './worker.js';

const HELP = `outcall: outbound AI phone calls over your own SIP trunk

Run the platform:
  outcall serve      the API, dispatcher and media in one process (embedded store by default)
  outcall worker     a media worker (dispatcher + SIP/RTP, no HTTP) against DATABASE_URL
  outcall api        the API, dashboard and webhooks without dialing, against DATABASE_URL
  outcall migrate    apply database migrations and exit

Use it (talks to a running API: --url / OUTCALL_URL, --key / OUTCALL_API_KEY):
  outcall call <number> --agent <id>   place a call and watch it live
  outcall calls      list, get, events, transcript, watch, cancel
  outcall test <dir> run scenario files (real calls) and check the results
  outcall agents     list, get, create, update, delete
  outcall trunks     list, get, create, update, delete
  outcall numbers    list, get, create, update, delete
  outcall keys       list, create, revoke
  outcall webhooks   deliveries, redeliver, secrets, rotate

  outcall <command> --help   more about one command

The platform is configured by environment variables; see the README's configuration table.`;

async function main(argv: string[]): Promise<number> {
  const [command = 'help'] = argv;
  switch (command) {
    case 'serve':
      return serve(loadConfig());
    case 'worker':
      return worker(loadConfig());
    case 'api':
      return apiNode(loadConfig());
    case 'migrate':
      return migrateCommand(loadConfig());
    case 'call':
      return callCommand(argv.slice(1));
    case 'test':
      return testCommand(argv.slice(1));
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    default:
      if (command in RESOURCES) return resourceCommand(command, argv.slice(1));
      console.error(`outcall: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(`outcall: ${err.message}`);
      process.exitCode = err.exitCode;
      return;
    }
    if (isArgError(err)) {
      console.error(`outcall: ${(err as Error).message} (try --help)`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof OutcallError) console.error(`outcall: ${err.message} [${err.code}]`);
    else console.error('outcall: fatal error', err);
    process.exitCode = 1;
  },
);

/** node:util parseArgs rejects unknown or malformed options with these codes. */
function isArgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
