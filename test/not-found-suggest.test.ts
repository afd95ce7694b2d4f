/**
 * The diagnostic 404 names the route a mistyped path was meant for ("did you mean /v1/chat/completions"), in the
 * caller's dialect; a path close to nothing keeps the base-URL advice alone (issue 13 §2).
 */
import { afterAll, expect, test } from 'bun:test'
import { closestRoute } from '../src/http/route-table'
import { startAgproxy } from './support/agproxy'
import { ANY_MODEL_BODY, fetchError, json } from './support/front-door'

const srv = await startAgproxy()
afterAll(() => srv.stop(0))

test.each([
  ['/v1/chat/completion', '/v1/chat/completions'],
  ['/v1/chat/completoins', '/v1/chat/completions'],
  ['/v1/message', '/v1/messages'],
  ['/v1/messages/count_token', '/v1/messages/count_tokens'],
  ['/v1/respones', '/v1/responses'],
  ['/v1/embedding', '/v1/embeddings'],
  ['/v1beta/models/gemini-2.5-pro:generateContnet', '/v1beta/models/gemini-2.5-pro:generateContent'],
  ['/heathz', '/healthz'],
])('closestRoute(%s) → %s', (path, near) => {
  expect(closestRoute(path)).toBe(near)
})

test.each(['/v1/foo', '/x', '/v1/chat', '/admin/settings'])('closestRoute(%s) → nothing', path => {
  expect(closestRoute(path)).toBeUndefined()
})

test.each([
  ['openai', '/v1/chat/completion', {}, '/v1/chat/completions', '/v1'],
  ['anthropic', '/v1/message', { 'anthropic-version': '2023-06-01' }, '/v1/messages', ''],
  ['gemini', '/v1beta/model/gemini-2.5-pro:generateContent', {}, '/v1beta/models/gemini-2.5-pro:generateContent', ''],
] as const)('%s: POST %s → 404 in its dialect: "did you mean %s"', async (dialect, path, headers, near, base) => {
  const { message } = await fetchError(`${srv.url}${path}`, json(ANY_MODEL_BODY, headers), dialect, 404)
  expect(message).toBe(
    `No route for POST ${path}: did you mean ${near}? agproxy has no such endpoint. For ${
      dialect === 'openai'
        ? 'OpenAI SDKs, Codex CLI, Kilo Code / Roo Code / Cline (OpenAI-compatible), Cherry Studio'
        : dialect === 'anthropic'
          ? 'Claude Code, Anthropic SDK'
          : 'Gemini CLI, Google GenAI SDK'
    }, set the base URL to ${srv.url}${base} — the client adds the endpoint path itself. Routes are listed at ${srv.url}/swagger.`,
  )
})

test('a path close to no route keeps the base-URL advice alone', async () => {
  const { message } = await fetchError(`${srv.url}/v2/generate`, json(ANY_MODEL_BODY), 'openai', 404)
  expect(message).toStartWith('No route for POST /v2/generate: agproxy has no such endpoint; the base URL is probably wrong.')
})
