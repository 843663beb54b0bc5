import { describe, expect, it } from 'vitest';
import { compilePlan } from '../../src/services/plan/index.ts';
import { openApiDocument, type JsonSchema } from '../../src/services/openapi/index.ts';

const plan = compilePlan({
  upstreams: { users: { baseUrl: 'http://users.test' } },
  endpoints: [
    {
      path: '/v1/plain/:id',
      calls: {
        profile: {
          upstream: 'users',
          path: '/users/{params.id}',
          required: true,
          schema: { type: 'object', properties: { id: { type: 'string', required: true }, name: { type: 'string', required: true } } },
        },
        card: {
          upstream: 'users',
          path: '/users/{params.id}',
          pick: ['name'],
          schema: { type: 'object', properties: { id: { type: 'string', required: true }, name: { type: 'string' } } },
        },
      },
    },
    {
      path: '/v1/shaped/:id',
      response: { name: '{calls.profile.name}' },
      calls: { profile: { upstream: 'users', path: '/users/{params.id}' } },
    },
  ],
});

function dataOf(path: string): JsonSchema {
  const doc = openApiDocument(plan) as { paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: JsonSchema }> }> } }> };
  const schema = doc.paths[path]?.get.responses['200']?.content['application/json']?.schema as { properties: { data: JsonSchema } };
  return schema.properties.data;
}

describe('/openapi.json and response shaping', () => {
  it("types data.<call> from the call's schema, but not for a call whose pick keeps only some fields", () => {
    const data = dataOf('/v1/plain/{id}') as { properties: Record<string, JsonSchema> };
    expect(data.properties.profile).toMatchObject({ type: 'object', required: ['id', 'name'] });
    // The declared schema requires `id`, which the pick drops: claiming it would lie to the typed client.
    expect(JSON.stringify(data.properties.card)).not.toContain('"required"');
  });

  it('describes data as the rendered response template, not one key per call', () => {
    const data = dataOf('/v1/shaped/{id}') as { properties?: unknown; description?: string };
    expect(data.properties).toBeUndefined();
    expect(data.description).toMatch(/response` template/);
  });
});
