#!/usr/bin/env node
import { loadConfig } from '../config.js';
import { OutcallError } from '../errors.js';
import { serve } from './serve.js';
import { migrateCommand } from './migrate.js';
import { worker } from './worker.js';

const HELP = `outcall: outbound AI phone calls over your own SIP trunk

Usage:
  outcall serve     run the API, dispatcher and media in one process (embedded store by default)
  outcall worker    run a media worker (dispatcher + SIP/RTP, no HTTP) against DATABASE_URL
  outcall migrate   apply database migrations and exit
  outcall help      show this help

Configuration is by environment variables; see the README's configuration table.`;

async function main(argv: string[]): Promise<number> {
  const [command = 'help'] = argv;
  switch (command) {
    case 'serve':
      return serve(loadConfig());
    case 'worker':
      return worker(loadConfig());
    case 'migrate':
      return migrateCommand(loadConfig());
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    default:
      console.error(`outcall: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof OutcallError) console.error(`outcall: ${err.message} [${err.code}]`);
    else console.error('outcall: fatal error', err);
    process.exitCode = 1;
  },
);
