/** RequestRecords for tests of the request store and the admin API (what src/observe emits once a request is over). */
import type { RequestRecord } from '../../src/observe/record'

let seq = 0

/** A finished, successful OpenAI chat completion, with `over` on top. Ids sort by time, as the recorder's do. */
export function record(over: Partial<RequestRecord> = {}): RequestRecord {
  const time = over.time ?? Date.now()
  seq++
  return {
    id: `${time.toString(36).padStart(9, '0')}-${String(seq).padStart(6, '0')}`,
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
