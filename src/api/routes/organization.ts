import type { AppContext } from '../../app-context.js';
import { Organization, OrganizationPatch } from '../../contract/organization.js';
import { security } from '../../contract/common.js';
import { getOrganization, updateOrganization } from '../../orgs/organization.js';
import type { App } from '../app-type.js';

export function organizationRoutes(app: App, ctx: AppContext): void {
  const tags = ['organization'];
  app.get(
    '/v1/organization',
    { schema: { tags, security, summary: "The key's organization: its name and its own concurrency limit", response: { 200: Organization } } },
    async (req) => getOrganization(ctx, req.orgId),
  );
  app.patch(
    '/v1/organization',
    {
      schema: {
        tags,
        security,
        summary: 'Rename the organization or set max_concurrent_calls (null removes the limit); a raised limit starts waiting calls at once',
        body: OrganizationPatch,
        response: { 200: Organization },
      },
    },
    async (req) => updateOrganization(ctx, req.orgId, req.body as OrganizationPatch),
  );
}
