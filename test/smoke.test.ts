import { test, expect, afterAll } from 'bun:test'
import { startAgproxy } from './support/agproxy'

const srv = await startAgproxy()
afterAll(() => srv.stop(0))

test('GET /healthz answers with status and version', async () => {
  const r = await fetch(`${srv.url}/healthz`)
  expect(r.status).toBe(200)
  expect(await r.json()).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
})
