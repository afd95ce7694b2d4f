import { at } from '../support/at'
/**
 * Anthropic wire for the fake upstream: /v1/messages (+ stream events), /v1/messages/count_tokens, /v1/models.
 * Validates what the real API rejects and translators tend to get wrong: missing anthropic-version or
 * max_tokens, empty text blocks, tool_use without a tool_result right after (and the reverse), unsigned thinking.
 */
import {
  charsIn,
  errorResponse,
  fakeSignature,
  json,
  randomId,
  tokens,
  type ErrorBehaviour,
  type ErrorReply,
  type Frame,
  type ModelCall,
  type Reply,
  type Wire,
  type WireCtx,
} from './upstream'

const MODELS: [string, string, string][] = [
  ['claude-opus-4-7', 'Claude Opus 4.7', '2026-04-16T00:00:00Z'],
  ['claude-sonnet-4-6', 'Claude Sonnet 4.6', '2026-02-17T00:00:00Z'],
  ['claude-haiku-4-5-20251001', 'Claude Haiku 4.5', '2025-10-01T00:00:00Z'],
  ['claude-sonnet-4-5-20250929', 'Claude Sonnet 4.5', '2025-09-29T00:00:00Z'],
]

const requestId = () => `req_011C${randomId(20)}`

const BAD_REQUEST: [string, string] = ['invalid_request_error', 'Invalid request']
const SERVER_ERROR: [string, string] = ['api_error', 'Internal server error']
const TYPES: Record<number, [string, string]> = {
  400: BAD_REQUEST,
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'Your credit balance is too low to access the Anthropic API.'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'Not Found'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: [
    'rate_limit_error',
    'This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: ' +
      'https://docs.claude.com/en/api/rate-limits.',
  ],
  500: SERVER_ERROR,
  504: ['timeout_error', 'Request timed out'],
  529: ['overloaded_error', 'Overloaded'],
}

/** Anthropic's error body (and headers) for a status */
export function anthropicError(status: number, message?: string, retryDelaySeconds?: number): ErrorReply {
  const [type, text] = TYPES[status] ?? (status >= 500 ? SERVER_ERROR : BAD_REQUEST)
  const id = requestId()
  const headers: Record<string, string> = { 'request-id': id }
  if (status === 429) {
    const delay = retryDelaySeconds ?? 1
    const reset = new Date(Date.now() + delay * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    Object.assign(headers, { 'retry-after': String(delay) })
    for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
      headers[`anthropic-ratelimit-${kind}-limit`] = kind === 'requests' ? '50' : '40000'
      headers[`anthropic-ratelimit-${kind}-remaining`] = kind === 'requests' ? '0' : '40000'
      headers[`anthropic-ratelimit-${kind}-reset`] = reset
    }
  } else if (retryDelaySeconds !== undefined) headers['retry-after'] = String(retryDelaySeconds)
  return { status, headers, body: { type: 'error', error: { type, message: message ?? text }, request_id: id } }
}

const invalid = (message: string) => anthropicError(400, message)
const fromBehaviour = (b: ErrorBehaviour) => anthropicError(b.status, b.message, b.retryDelaySeconds)

// ───────────── request validation ─────────────

const blocks = (content: unknown): any[] => (typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? content : [])

function validate(body: any, needMaxTokens: boolean): ErrorReply | undefined {
  if (!body || typeof body !== 'object') return invalid('body: Input should be a valid dictionary')
  for (const f of ['model', ...(needMaxTokens ? ['max_tokens'] : []), 'messages']) if (body[f] === undefined) return invalid(`${f}: Field required`)
  const msgs: any[] = body.messages
  for (const [i, m] of msgs.entries()) {
    const content = blocks(m.content)
    const last = i === msgs.length - 1 && m.role === 'assistant'
    if (!content.length && !last) return invalid(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`)
    for (const [j, c] of content.entries()) {
      if (c?.type === 'text' && !c.text && !last) return invalid('messages: text content blocks must be non-empty')
      if (c?.type === 'thinking' && !c.signature) return invalid(`messages.${i}.content.${j}.thinking.signature: Field required`)
    }
    const uses = content.filter(c => c?.type === 'tool_use').map(c => c.id)
    if (uses.length) {
      const next = blocks(msgs[i + 1]?.content)
        .filter(c => c?.type === 'tool_result')
        .map(c => c.tool_use_id)
      const lost = uses.filter(id => !next.includes(id))
      if (lost.length)
        return invalid(
          `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${lost.join(', ')}. Each \`tool_use\` block must ` +
            `have a corresponding \`tool_result\` block in the next message.`,
        )
    }
    const prev = blocks(msgs[i - 1]?.content)
      .filter(c => c?.type === 'tool_use')
      .map(c => c.id)
    for (const [j, c] of content.entries()) {
      if (c?.type === 'tool_result' && !prev.includes(c.tool_use_id)) {
        return invalid(
          `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${c.tool_use_id}. Each \`tool_result\` block must have ` +
            `a corresponding \`tool_use\` block in the previous message.`,
        )
      }
    }
  }
}

function lastUserText(msgs: any[]): string {
  const m = [...msgs].reverse().find(x => x?.role === 'user')
  if (!m) return ''
  const content = blocks(m.content)
  const text = content
    .filter(c => c?.type === 'text')
    .map(c => c.text)
    .join('')
  if (text) return text
  return content
    .filter(c => c?.type === 'tool_result')
    .map(c =>
      blocks(c.content)
        .map(x => x?.text ?? '')
        .join(''),
    )
    .join('')
}

const promptChars = (body: any) => charsIn(body.messages) + charsIn(body.system) + charsIn(body.tools)

// ───────────── messages ─────────────

const toolId = (r: Reply, i: number) => r.calls[i]?.id ?? `toolu_01${r.nonce.slice(0, 20)}${i}`
const stopReason = (r: Reply) => (r.finish === 'tool_calls' ? 'tool_use' : r.finish === 'length' ? 'max_tokens' : 'end_turn')
const usage = (r: Reply, output: number) => ({
  input_tokens: Math.max(0, r.usage.input - r.usage.cached),
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: r.usage.cached,
  output_tokens: output,
  service_tier: 'standard',
})

/** One messages call: its JSON answer and its SSE events (also pre-rendered for the bench: fixed.ts). */
export function messagesCall(body: any, headers: Record<string, string>): ModelCall {
  const model = String(body.model)
  const event = (type: string, data: object, content = false): Frame => ({ data: `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`, content })
  return {
    model,
    stream: !!body.stream,
    sse: true,
    contentType: 'text/event-stream; charset=utf-8',
    echo: lastUserText(body.messages),
    promptChars: promptChars(body),
    headers,
    json: r => {
      const text = [...r.text].join('')
      const content: unknown[] = []
      if (r.thinking.length) content.push({ type: 'thinking', thinking: r.thinking.join(''), signature: r.signature ?? fakeSignature(r.nonce) })
      if (text || !r.calls.length) content.push({ type: 'text', text })
      r.calls.forEach((c, i) => content.push({ type: 'tool_use', id: toolId(r, i), name: c.name, input: JSON.parse(c.args) }))
      return {
        id: `msg_01${r.nonce}`,
        type: 'message',
        role: 'assistant',
        model: r.model,
        content,
        stop_reason: stopReason(r),
        stop_sequence: null,
        usage: usage(r, r.usage.output),
      }
    },
    *frames(r): Iterable<Frame> {
      yield event('message_start', {
        message: {
          id: `msg_01${r.nonce}`,
          type: 'message',
          role: 'assistant',
          model: r.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: usage(r, 1),
        },
      })
      let index = 0
      let pinged = false
      function* start(block: object): Generator<Frame> {
        yield event('content_block_start', { index, content_block: block })
        if (!pinged) {
          pinged = true
          yield event('ping', {})
        }
      }
      if (r.thinking.length) {
        yield* start({ type: 'thinking', thinking: '', signature: '' })
        for (const t of r.thinking) yield event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: t } }, true)
        yield event('content_block_delta', { index, delta: { type: 'signature_delta', signature: r.signature ?? fakeSignature(r.nonce) } }, true)
        yield event('content_block_stop', { index: index++ })
      }
      const iter = r.text[Symbol.iterator]()
      let next = iter.next()
      if (!next.done || !r.calls.length) {
        yield* start({ type: 'text', text: '' })
        for (; !next.done; next = iter.next()) yield event('content_block_delta', { index, delta: { type: 'text_delta', text: next.value } }, true)
        yield event('content_block_stop', { index: index++ })
      }
      for (const [i, c] of r.calls.entries()) {
        yield* start({ type: 'tool_use', id: toolId(r, i), name: c.name, input: {} })
        for (const a of ['', ...c.argChunks]) yield event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: a } }, true)
        yield event('content_block_stop', { index: index++ })
      }
      yield event('message_delta', { delta: { stop_reason: stopReason(r), stop_sequence: null }, usage: { output_tokens: r.usage.output } })
      yield event('message_stop', {})
    },
    error: fromBehaviour,
    streamError: b => {
      const e = (anthropicError(b.status, b.message).body as any).error
      return `event: error\ndata: ${JSON.stringify({ type: 'error', error: e })}\n\n`
    },
  }
}

// ───────────── routing ─────────────

const modelInfo = ([id, display_name, created_at]: [string, string, string]) => ({ type: 'model', id, display_name, created_at })

export const anthropicWire: Wire = {
  base: '',
  keyOf: req => req.headers.get('x-api-key') ?? (req.headers.get('authorization')?.replace(/^Bearer\s+/i, '') || undefined),
  authError: key => anthropicError(401, key === undefined ? 'x-api-key header is required' : 'invalid x-api-key'),
  handle(ctx: WireCtx) {
    const { rec, body } = ctx
    const route = `${rec.method} ${rec.path.replace(/\/+$/, '')}`
    const headers = { 'request-id': requestId() }
    const isPost = rec.method === 'POST'
    if (isPost && !ctx.fast && !rec.headers['anthropic-version']) return errorResponse(invalid('anthropic-version: header is required'))
    if (route === 'POST /v1/messages') {
      const bad = validate(body, true)
      return bad ? errorResponse(bad) : ctx.play(messagesCall(body, headers))
    }
    if (route === 'POST /v1/messages/count_tokens') {
      const bad = validate(body, false)
      if (bad) return errorResponse(bad)
      return ctx.serve(fromBehaviour, () => json(200, { input_tokens: tokens(promptChars(body)) }, headers))
    }
    if (route === 'GET /v1/models') {
      const data = MODELS.map(modelInfo)
      return ctx.serve(fromBehaviour, () => json(200, { data, has_more: false, first_id: data[0]?.id, last_id: data[data.length - 1]?.id }, headers))
    }
    const one = route.match(/^GET \/v1\/models\/(.+)$/)
    if (one) {
      const m = MODELS.find(x => x[0] === decodeURIComponent(at(one, 1)))
      return ctx.serve(fromBehaviour, () => (m ? json(200, modelInfo(m), headers) : errorResponse(anthropicError(404, `model: ${one[1]}`))))
    }
    return errorResponse(anthropicError(404, 'Not Found'))
  },
}
