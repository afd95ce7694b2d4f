/** RequestRecords for tests of the request store and the admin API (what src/observe emits once a request is over). */
import type { RequestRecord } from '../../src/observe/record'

let seq = 0
const uuid7ish = (time: number, n: number) => {
  const t = time.toString(16).padStart(12, '0')
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7000-8000-${n.toString(16).padStart(12, '0')}`
}

/** A finished, successful OpenAI chat completion, with `over` on top. Ids are UUIDv7-shaped and sort by time, as the
 *  recorder's do (so they mix with real ones in the same database). */
export function record(over: Partial<RequestRecord> = {}): RequestRecord {
  const time = over.time ?? Date.now()
  seq++
  return {
    id: uuid7ish(time, seq),
    instance: 'test',
    time,
    client: '127.0.0.1',
    method: 'POST',
    path: '/v1/chat/completions',
    status: 200,
    dialect: 'openai',
    endpoint: 'openai.chat',
    stream: false,
    model: 'gpt-4o-mini',
    provider: 'oai',
    routedModel: 'gpt-4o-mini',
    key: 'main',
    clientKey: 'alice',
    attempts: [{ provider: 'oai', model: 'gpt-4o-mini', key: 'main', status: 200, ms: 12 }],
    retries: 0,
    failovers: 0,
    latencyMs: 20,
    ttfbMs: 15,
    usage: { inputTokens: 1000, outputTokens: 100 },
    ...over,
  }
}
