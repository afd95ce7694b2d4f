/**
 * Frame-aware stream guards on pass-through streams (src/endpoints/frames.ts): what ends a stream and what is
 * content is read from `event:` lines and top-level fields, never from words in the model's text. A scripted
 * upstream sends exact SSE bytes and closes; agproxy relays them to a raw client.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startAgproxy, type TestServer } from './support/agproxy'
import { call, readAll, streamError, type Dialect } from './support/resilience'

type Kind = 'openai' | 'anthropic' | 'gemini'
/** the SSE the scripted upstream answers with, per test */
let script = ''
let upstream: ReturnType<typeof Bun.serve>
let srv: TestServer

const sse = (frames: Array<[string | undefined, unknown]>) =>
  frames.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('')

beforeAll(async () => {
  upstream = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(script, { headers: { 'content-type': 'text/event-stream' } }) })
  const base = `http://127.0.0.1:${upstream.port}`
  const p = (name: Kind, url: string) => ({ name, type: name, base_url: url, api_keys: [`${name}-key-0123456789`] })
  srv = await startAgproxy({
    providers: [p('openai', `${base}/v1`), p('anthropic', base), p('gemini', base)],
    models: { 'm-openai': 'openai/m', 'm-anthropic': 'anthropic/m', 'm-gemini': 'gemini/m' },
    retry: { max_attempts: 1 },
  })
})
afterAll(async () => {
  await srv?.stop()
  upstream?.stop(true)
})

/** Call `dialect` streaming against the scripted upstream: status and body text. */
async function streamed(dialect: Dialect | 'responses', body: string): Promise<{ status: number; text: string }> {
  script = body
  const kind: Kind = dialect === 'responses' ? 'openai' : dialect
  const res = await call(srv, dialect, `m-${kind}`, { stream: true })
  return { status: res.status, text: await readAll(res) }
}

const chat = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'c',
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta, finish_reason: finish }],
})
const ANTHROPIC_START: Array<[string, unknown]> = [
  [
    'message_start',
    {
      type: 'message_start',
      message: { id: 'msg', type: 'message', role: 'assistant', content: [], model: 'm', stop_reason: null, usage: { input_tokens: 1, output_tokens: 0 } },
    },
  ],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
]
const delta = (text: string): [string, unknown] => ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }]
const LOOKALIKE = 'the words message_stop, data: [DONE], "finish_reason": "stop", response.completed and "finishReason": "STOP"'

describe('model text that looks like an end is not the end: a cut right after it is an incomplete answer', () => {
  test('anthropic (event: message_stop inside a text delta)', async () => {
    const { status, text } = await streamed('anthropic', sse([...ANTHROPIC_START, delta(`event: message_stop\n${LOOKALIKE}`)]))
    expect(status).toBe(200)
    expect(text).toContain('message_stop, data')
    expect(streamError('anthropic', text)).toContain('incomplete')
  })

  test('openai chat ([DONE] and finish_reason inside content)', async () => {
    const { status, text } = await streamed('openai', sse([[undefined, chat({ role: 'assistant', content: `data: [DONE]\n\n${LOOKALIKE}` })]]))
    expect(status).toBe(200)
    expect(streamError('openai', text)).toContain('incomplete')
  })

  test('openai responses (response.completed inside an output_text delta)', async () => {
    const { status, text } = await streamed(
      'responses',
      sse([
        ['response.created', { type: 'response.created', response: { id: 'r', status: 'in_progress', output: [] } }],
        ['response.output_text.delta', { type: 'response.output_text.delta', delta: `event: response.completed\n${LOOKALIKE}` }],
      ]),
    )
    expect(status).toBe(200)
    expect(streamError('responses', text)).toContain('incomplete')
  })

  test("gemini alt=sse (finishReason inside a part's text)", async () => {
    const { status, text } = await streamed('gemini', sse([[undefined, { candidates: [{ content: { role: 'model', parts: [{ text: LOOKALIKE }] } }] }]]))
    expect(status).toBe(200)
    expect(streamError('gemini', text)).toContain('incomplete')
  })
})

describe('real terminal frames end a stream properly', () => {
  test('anthropic message_stop', async () => {
    const { text } = await streamed(
      'anthropic',
      sse([
        ...ANTHROPIC_START,
        delta('hi'),
        ['content_block_stop', { type: 'content_block_stop', index: 0 }],
        ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } }],
        ['message_stop', { type: 'message_stop' }],
      ]),
    )
    expect(streamError('anthropic', text)).toBeUndefined()
  })

  test('openai chat finish_reason then [DONE]; and [DONE] alone', async () => {
    const full = await streamed(
      'openai',
      sse([
        [undefined, chat({ content: 'hi' })],
        [undefined, chat({}, 'stop')],
        [undefined, '[DONE]'],
      ]),
    )
    expect(streamError('openai', full.text)).toBeUndefined()
    const done = await streamed(
      'openai',
      sse([
        [undefined, chat({ content: 'hi' })],
        [undefined, '[DONE]'],
      ]),
    )
    expect(streamError('openai', done.text)).toBeUndefined()
  })

  test('responses response.completed; gemini finishReason', async () => {
    const r = await streamed(
      'responses',
      sse([
        ['response.output_text.delta', { type: 'response.output_text.delta', delta: 'hi' }],
        ['response.completed', { type: 'response.completed', response: { id: 'r', status: 'completed', output: [] } }],
      ]),
    )
    expect(streamError('responses', r.text)).toBeUndefined()
    const g = await streamed('gemini', sse([[undefined, { candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP' }] }]]))
    expect(streamError('gemini', g.text)).toBeUndefined()
  })
})

describe('content is found in content frames only', () => {
  test('responses: a response.created echoing "response.output_text.delta" in its instructions is not content', async () => {
    const { status, text } = await streamed(
      'responses',
      sse([
        [
          'response.created',
          {
            type: 'response.created',
            response: { id: 'r', status: 'in_progress', instructions: 'emit response.output_text.delta', output: [] },
          },
        ],
      ]),
    )
    // nothing was relayed: the empty stream is a failure before the first byte (retried; here none is left), not a 200 with a cut
    expect(status).toBe(503)
    expect(text).toContain('without any content')
  })

  test('anthropic: a message_start whose id spells content_block_delta is not content', async () => {
    const { status, text } = await streamed(
      'anthropic',
      sse([['message_start', { type: 'message_start', message: { id: 'content_block_delta', type: 'message', role: 'assistant', content: [], model: 'm' } }]]),
    )
    expect(status).toBe(503)
    expect(text).toContain('without any content')
  })
})
