import type { AppContext } from '../../app-context.js';
import * as agents from '../../agents/agents.js';
import * as numbers from '../../agents/phone-numbers.js';
import * as trunks from '../../agents/trunks.js';
import { Agent, AgentCreate, AgentPatch } from '../../contract/agent.js';
import { PhoneNumber, PhoneNumberCreate, PhoneNumberPatch } from '../../contract/phone-number.js';
import { Trunk, TrunkCreate, TrunkPatch } from '../../contract/trunk.js';
import { crudRoutes } from './crud.js';
import type { App } from '../app-type.js';

export function resourceRoutes(app: App, ctx: AppContext): void {
  crudRoutes(app, {
    path: '/v1/trunks',
    tag: 'trunks',
    noun: 'trunk',
    item: Trunk,
    create: TrunkCreate,
    patch: TrunkPatch,
    ops: {
      create: (org, body) => trunks.createTrunk(ctx, org, body),
      get: (org, id) => trunks.getTrunk(ctx, org, id),
      list: (org, limit, cursor) => trunks.listTrunks(ctx, org, limit, cursor),
      update: (org, id, patch) => trunks.updateTrunk(ctx, org, id, patch),
      remove: (org, id) => trunks.deleteTrunk(ctx, org, id),
    },
  });
  crudRoutes(app, {
    path: '/v1/phone-numbers',
    tag: 'phone-numbers',
    noun: 'phone number',
    item: PhoneNumber,
    create: PhoneNumberCreate,
    patch: PhoneNumberPatch,
    ops: {
      create: (org, body) => numbers.createPhoneNumber(ctx, org, body),
      get: (org, id) => numbers.getPhoneNumber(ctx, org, id),
      list: (org, limit, cursor) => numbers.listPhoneNumbers(ctx, org, limit, cursor),
      update: (org, id, patch) => numbers.updatePhoneNumber(ctx, org, id, patch),
      remove: (org, id) => numbers.deletePhoneNumber(ctx, org, id),
    },
  });
  crudRoutes(app, {
    path: '/v1/agents',
    tag: 'agents',
    noun: 'agent',
    item: Agent,
    create: AgentCreate,
    patch: AgentPatch,
    ops: {
      create: (org, body) => agents.createAgent(ctx, org, body),
      get: (org, id) => agents.getAgent(ctx, org, id),
      list: (org, limit, cursor) => agents.listAgents(ctx, org, limit, cursor),
      update: (org, id, patch) => agents.updateAgent(ctx, org, id, patch),
      remove: async (org, id) => {
        await agents.deleteAgent(ctx, org, id);
      },
    },
  });
}
