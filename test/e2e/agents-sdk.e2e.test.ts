import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { callApi } from '../support/api';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-agents-sdk-0123456789';

// The SDK's traces go to OpenAI's platform by default: none leave this machine.
setTracingDisabled(true);
// Node 20 has no global WebSocket, which the SDK's WebSocket transport takes (Node 22 has one): `ws`'s, as a user of
// Node 20 would give it.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/** The OpenAI Agents SDK running an agent with one function tool through XRouter, over HTTP and over WebSocket. */
describe('the OpenAI Agents SDK through XRouter', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let key: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY });
    const user = await callApi<{ id: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/users', {
      email: 'agents@example.com',
      role: 'user',
    });
    key = (
      await callApi<{ key: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/api-keys', {
        name: 'agents',
        user_id: user.json.id,
      })
    ).json.key;
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  function weatherAgent(calls: string[]) {
    const getWeather = tool({
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: z.object({ city: z.string() }),
      execute: ({ city }) => {
        calls.push(city);
        return `Солнечно, +21 (${city})`;
      },
    });
    return new Agent({ name: 'Погода', instructions: 'Отвечай кратко', model: 'GigaChat-2', tools: [getWeather] });
  }

  it.each([
    ['HTTP', { useResponses: true }],
    ['WebSocket', { useResponses: true, useResponsesWebSocket: true }],
  ])('should run an agent with a function tool over %s', async (_transport, options) => {
    const provider = new OpenAIProvider({
      apiKey: key,
      baseURL: `${gateway.url}/v1`,
      websocketBaseURL: `${gateway.url.replace(/^http/, 'ws')}/v1`,
      ...options,
    });
    const calls: string[] = [];
    try {
      const result = await new Runner({ modelProvider: provider }).run(weatherAgent(calls), 'Какая погода в Казани?');
      expect(calls).toHaveLength(1);
      // The emulator answers a tool result with "Tool result: <the result>" (the SDK sends it JSON-encoded).
      expect(result.finalOutput).toContain('Tool result: "Солнечно, +21 (');
    } finally {
      await provider.close?.();
    }
  });
});
