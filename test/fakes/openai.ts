import { at } from '../support/at'
/**
 * OpenAI wire for the fake upstream: /v1/chat/completions, /v1/responses (and /compact, /input_tokens), /v1/embeddings, /v1/models,
 * /v1/images/generations and /v1/images/edits (multipart), /v1/audio/transcriptions (multipart; json, text, srt, vtt, or a stream).
 * Chat streams are `data: {chat.completion.chunk}` frames ending `data: [DONE]`; thinking comes as
 * `reasoning_content` deltas (DeepSeek / vLLM style). Responses streams are named events with sequence numbers.
 */
import {
  PNG_1X1,
  charsIn,
  errorResponse,
  json,
  randomId,
  tokens,
  vectorFor,
  type ErrorBehaviour,
  type ErrorReply,
  type Frame,
  type ModelCall,
  type Reply,
  type Wire,
  type WireCtx,
} from './upstream'

export const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-5', 'gpt-5-mini', 'o3', 'o4-mini', 'text-embedding-3-small', 'text-embedding-3-large']

const headers = () => ({ 'x-request-id': `req_${randomId(32)}`, 'openai-version': '2020-10-01', 'openai-processing-ms': '42' })

function err(
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
  extra?: Record<string, string>,
): ErrorReply {
  return { status, headers: { ...headers(), ...extra }, body: { error: { message, type, param, code } } }
}

const mask = (key: string) => (key.length <= 8 ? '*'.repeat(key.length) : `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 40))}${key.slice(-4)}`)

/** OpenAI's error body for a status, as the API words it */
export function openaiError(status: number, message?: string, model = 'gpt-4o', retryDelaySeconds?: number): ErrorReply {
  const retry: Record<string, string> = retryDelaySeconds !== undefined ? { 'retry-after': String(retryDelaySeconds) } : {}
  if (status === 401)
    return err(
      401,
      message ?? 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
      'invalid_request_error',
      'invalid_api_key',
    )
  if (status === 404)
    return err(404, message ?? `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found')
  if (status === 429) {
    return err(
      429,
      message ??
        `Rate limit reached for ${model} in organization org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. ` +
          `Visit https://platform.openai.com/account/rate-limits to learn more.`,
      'requests',
      'rate_limit_exceeded',
      null,
      { 'x-ratelimit-limit-requests': '500', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': `${retryDelaySeconds ?? 0.12}s`, ...retry },
    )
  }
  if (status >= 500)
    return err(status, message ?? 'The server had an error while processing your request. Sorry about that!', 'server_error', null, null, retry)
  return err(status, message ?? 'Invalid request.', 'invalid_request_error', null, null, retry)
}

const fromBehaviour = (model: string) => (b: ErrorBehaviour) => openaiError(b.status, b.message, model, b.retryDelaySeconds)

// ───────────── request reading ─────────────

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content))
    return content
      .map(p => (typeof p === 'string' ? p : (p?.text ?? p?.output ?? '')))
      .filter(Boolean)
      .join('')
  return ''
}

function lastUserText(items: any[]): string {
  for (let i = items.length - 1; i >= 0; i--) {
    const m = items[i]
    if (m?.role === 'user' || m?.role === 'tool') return textOf(m.content)
    if (m?.type === 'function_call_output') return textOf(m.output)
  }
  return ''
}

const callId = (r: Reply, i: number) => r.calls[i]?.id ?? `call_${r.nonce.slice(0, 20)}${i}`

function usageChat(r: Reply) {
  const u = r.usage
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
}

const finishChat = (r: Reply) => (r.finish === 'stop' ? 'stop' : r.finish)

// ───────────── chat completions ─────────────

/** One chat completions call: its JSON answer and its stream frames (also pre-rendered for the bench: fixed.ts). */
export function chatCall(body: any): ModelCall {
  const model = String(body.model)
  const includeUsage = !!body.stream_options?.include_usage
  const chunk = (r: Reply, choices: unknown[], usage?: unknown) =>
    `data: ${JSON.stringify({
      id: `chatcmpl-${r.nonce}`,
      object: 'chat.completion.chunk',
      created: r.created,
      model: r.model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake0001',
      choices,
      ...(includeUsage ? { usage: usage ?? null } : {}),
    })}\n\n`
  const delta = (r: Reply, d: unknown, finish: string | null = null) => chunk(r, [{ index: 0, delta: d, logprobs: null, finish_reason: finish }])

  return {
    model,
    stream: !!body.stream,
    sse: true,
    contentType: 'text/event-stream; charset=utf-8',
    echo: lastUserText(body.messages ?? []),
    promptChars: charsIn(body.messages) + charsIn(body.tools),
    headers: headers(),
    json: r => {
      const text = [...r.text].join('')
      const message: Record<string, unknown> = { role: 'assistant', content: text || (r.calls.length ? null : ''), refusal: null, annotations: [] }
      if (r.thinking.length) message.reasoning_content = r.thinking.join('')
      if (r.calls.length) message.tool_calls = r.calls.map((c, i) => ({ id: callId(r, i), type: 'function', function: { name: c.name, arguments: c.args } }))
      return {
        id: `chatcmpl-${r.nonce}`,
        object: 'chat.completion',
        created: r.created,
        model: r.model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishChat(r) }],
        usage: usageChat(r),
        service_tier: 'default',
        system_fingerprint: 'fp_fake0001',
      }
    },
    *frames(r): Iterable<Frame> {
      yield { data: delta(r, { role: 'assistant', content: '', refusal: null }) }
      for (const t of r.thinking) yield { data: delta(r, { content: null, reasoning_content: t }), content: true }
      for (const t of r.text) yield { data: delta(r, { content: t }), content: true }
      for (const [i, c] of r.calls.entries()) {
        yield { data: delta(r, { tool_calls: [{ index: i, id: callId(r, i), type: 'function', function: { name: c.name, arguments: '' } }] }), content: true }
        for (const a of c.argChunks) yield { data: delta(r, { tool_calls: [{ index: i, function: { arguments: a } }] }), content: true }
      }
      yield { data: delta(r, {}, finishChat(r)) }
      if (includeUsage) yield { data: chunk(r, [], usageChat(r)) }
      yield { data: 'data: [DONE]\n\n' }
    },
    error: fromBehaviour(model),
    streamError: b => `data: ${JSON.stringify(openaiError(b.status, b.message, model).body)}\n\n`,
  }
}

// ───────────── responses ─────────────

function responsesCall(body: any): ModelCall {
  const model = String(body.model)
  const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : (body.input ?? [])
  const ids = (r: Reply) => ({ rs: `rs_${r.nonce}`, msg: `msg_${r.nonce}`, fc: (i: number) => `fc_${r.nonce.slice(0, 20)}${i}` })

  const usage = (r: Reply) => ({
    input_tokens: r.usage.input,
    input_tokens_details: { cached_tokens: r.usage.cached },
    output_tokens: r.usage.output,
    output_tokens_details: { reasoning_tokens: r.usage.reasoning },
    total_tokens: r.usage.input + r.usage.output,
  })
  const reasoningItem = (r: Reply, text: string) => ({
    id: ids(r).rs,
    type: 'reasoning',
    summary: text ? [{ type: 'summary_text', text }] : [],
    ...(r.signature ? { encrypted_content: r.signature } : {}),
  })
  const messageItem = (r: Reply, text: string, status = 'completed') => ({
    id: ids(r).msg,
    type: 'message',
    status,
    role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', annotations: [], logprobs: [], text }] : [],
  })
  const callItem = (r: Reply, i: number, status = 'completed') => ({
    id: ids(r).fc(i),
    type: 'function_call',
    status,
    arguments: status === 'completed' ? r.calls[i]?.args : '',
    call_id: callId(r, i),
    name: r.calls[i]?.name,
  })
  const response = (r: Reply, status: string, output: unknown[], withUsage: boolean) => ({
    id: `resp_${r.nonce}`,
    object: 'response',
    created_at: r.created,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: r.model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: withUsage ? usage(r) : null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  })
  const finalOutput = (r: Reply, thinking: string, text: string) => [
    ...(r.thinking.length ? [reasoningItem(r, thinking)] : []),
    ...(text || !r.calls.length ? [messageItem(r, text)] : []),
    ...r.calls.map((_, i) => callItem(r, i)),
  ]
  const endStatus = (r: Reply) => (r.finish === 'length' ? 'incomplete' : 'completed')

  return {
    model,
    stream: !!body.stream,
    sse: true,
    contentType: 'text/event-stream; charset=utf-8',
    echo: lastUserText(input),
    promptChars: charsIn(input) + charsIn(body.instructions) + charsIn(body.tools),
    headers: headers(),
    json: r => response(r, endStatus(r), finalOutput(r, r.thinking.join(''), [...r.text].join('')), true),
    *frames(r): Iterable<Frame> {
      let seq = 0
      const ev = (type: string, data: object, content = false): Frame => ({
        data: `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`,
        content,
      })
      yield ev('response.created', { response: response(r, 'in_progress', [], false) })
      yield ev('response.in_progress', { response: response(r, 'in_progress', [], false) })
      let index = 0
      let thinking = ''
      if (r.thinking.length) {
        const at = { item_id: ids(r).rs, output_index: index, summary_index: 0 }
        yield ev('response.output_item.added', { output_index: index, item: { ...reasoningItem(r, ''), summary: [] } })
        yield ev('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } })
        for (const t of r.thinking) {
          thinking += t
          yield ev('response.reasoning_summary_text.delta', { ...at, delta: t }, true)
        }
        yield ev('response.reasoning_summary_text.done', { ...at, text: thinking })
        yield ev('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text: thinking } })
        yield ev('response.output_item.done', { output_index: index++, item: reasoningItem(r, thinking) })
      }
      let text = ''
      const iter = r.text[Symbol.iterator]()
      let next = iter.next()
      if (!next.done || !r.calls.length) {
        const at = { item_id: ids(r).msg, output_index: index, content_index: 0 }
        yield ev('response.output_item.added', { output_index: index, item: messageItem(r, '', 'in_progress') })
        yield ev('response.content_part.added', { ...at, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } })
        for (; !next.done; next = iter.next()) {
          text += next.value
          yield ev('response.output_text.delta', { ...at, delta: next.value, logprobs: [] }, true)
        }
        yield ev('response.output_text.done', { ...at, text, logprobs: [] })
        yield ev('response.content_part.done', { ...at, part: { type: 'output_text', annotations: [], logprobs: [], text } })
        yield ev('response.output_item.done', { output_index: index++, item: messageItem(r, text) })
      }
      for (const [i, c] of r.calls.entries()) {
        const at = { item_id: ids(r).fc(i), output_index: index }
        yield ev('response.output_item.added', { output_index: index, item: callItem(r, i, 'in_progress') })
        for (const a of c.argChunks) yield ev('response.function_call_arguments.delta', { ...at, delta: a }, true)
        yield ev('response.function_call_arguments.done', { ...at, name: c.name, arguments: c.args })
        yield ev('response.output_item.done', { output_index: index++, item: callItem(r, i) })
      }
      const status = endStatus(r)
      yield ev(`response.${status}`, { response: response(r, status, finalOutput(r, thinking, text), true) })
    },
    error: fromBehaviour(model),
    streamError: b => {
      const e = (openaiError(b.status, b.message, model).body as any).error
      return `event: error\ndata: ${JSON.stringify({ type: 'error', code: e.code ?? e.type, message: e.message, param: null, sequence_number: 2 })}\n\n`
    },
  }
}

// ───────────── embeddings and models ─────────────

function embeddings(body: any) {
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input]
  const dims = body.dimensions ?? (String(body.model).includes('large') ? 3072 : 1536)
  const data = inputs.map((x, index) => {
    const v = vectorFor(typeof x === 'string' ? x : JSON.stringify(x), dims)
    const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v
    return { object: 'embedding', index, embedding }
  })
  const n = inputs.reduce((s: number, x) => s + tokens(charsIn(x)), 0)
  return { object: 'list', data, model: body.model, usage: { prompt_tokens: n, total_tokens: n } }
}

/** /v1/responses/compact: every user message, then one compaction item (opaque, as OpenAI's is encrypted) */
function compacted(body: any) {
  const items: any[] =
    typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: body.input }] }] : (body.input ?? [])
  const users = items
    .filter(i => (i.type === 'message' || i.type === undefined) && i.role === 'user')
    .map((i, n) => ({ id: `msg_${n}`, status: 'completed', ...i, type: 'message' }))
  const n = tokens(charsIn(body.input) + charsIn(body.instructions))
  return {
    id: `resp_cmp_${Date.now()}`,
    object: 'response.compaction',
    created_at: Math.floor(Date.now() / 1000),
    output: [...users, { id: 'cmp_1', type: 'compaction', encrypted_content: Buffer.from(`summary of ${items.length} items`).toString('base64') }],
    usage: {
      input_tokens: n,
      output_tokens: 10,
      total_tokens: n + 10,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    },
  }
}

// ───────────── images and audio ─────────────

/** images.generate / images.edit: n images, b64_json (gpt-image-1 always) or a URL for response_format url */
function images(body: any) {
  const n = Number(body.n ?? 1)
  const url = body.response_format === 'url'
  return {
    created: Math.floor(Date.now() / 1000),
    data: Array.from({ length: n }, (_, i) => (url ? { url: `https://images.example/img-${i}.png` } : { b64_json: PNG_1X1 })),
    usage: { input_tokens: tokens(charsIn(body.prompt)), output_tokens: 272, total_tokens: tokens(charsIn(body.prompt)) + 272 },
  }
}

/** what the fake hears in an audio file: its name */
function transcription(body: any): Response {
  const text = `transcript of ${body.file.filename} (${body.file.size} bytes)`
  const format = body.response_format ?? 'json'
  if (body.stream === 'true') {
    const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`
    const sse = ev({ type: 'transcript.text.delta', delta: text }) + ev({ type: 'transcript.text.done', text })
    return new Response(sse, { headers: { 'content-type': 'text/event-stream; charset=utf-8' } })
  }
  if (format === 'text') return new Response(`${text}\n`, { headers: { 'content-type': 'text/plain; charset=utf-8' } })
  if (format === 'srt') return new Response(`1\n00:00:00,000 --> 00:00:01,000\n${text}\n\n`, { headers: { 'content-type': 'application/x-subrip' } })
  if (format === 'vtt') return new Response(`WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n${text}\n\n`, { headers: { 'content-type': 'text/vtt' } })
  return json(200, { text, usage: { type: 'duration', seconds: 1 } }, headers())
}

const model = (id: string) => ({ id, object: 'model', created: 1715367049, owned_by: 'system' })

// ───────────── routing ─────────────

function missing(body: any, field: string): ErrorReply | undefined {
  if (body?.[field] === undefined) return err(400, `Missing required parameter: '${field}'.`, 'invalid_request_error', 'missing_required_parameter', field)
}

/** OpenAI's text-embedding-3 models take 1 to their own size (3072 large, 1536 small) as `dimensions` */
function badDimensions(body: any): ErrorReply | undefined {
  const d = body?.dimensions
  if (d === undefined) return undefined
  const max = String(body.model).includes('large') ? 3072 : 1536
  if (!Number.isInteger(d) || d < 1 || d > max)
    return err(400, `Invalid value for 'dimensions': expected an integer from 1 to ${max}.`, 'invalid_request_error', 'invalid_value', 'dimensions')
}

export const openaiWire: Wire = {
  base: '/v1',
  keyOf: req => req.headers.get('authorization')?.replace(/^Bearer\s+/i, '') || undefined,
  authError: key =>
    key === undefined
      ? err(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer " +
            'YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.',
          'invalid_request_error',
        )
      : err(
          401,
          `Incorrect API key provided: ${mask(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          'invalid_request_error',
          'invalid_api_key',
        ),
  handle(ctx: WireCtx) {
    const { rec, body } = ctx
    const route = `${rec.method} ${rec.path.replace(/\/+$/, '')}`
    const bad = (e: ErrorReply | undefined) => e && errorResponse(e)
    if (route === 'POST /v1/chat/completions') return bad(missing(body, 'model') ?? missing(body, 'messages')) ?? ctx.play(chatCall(body))
    if (route.startsWith('POST /v1/responses') && ctx.opts.chatOnly) return json(404, { detail: 'Not Found' })
    if (route === 'POST /v1/responses/input_tokens') {
      const n = tokens(charsIn(body?.input) + charsIn(body?.instructions))
      return (
        bad(missing(body, 'model')) ?? ctx.serve(fromBehaviour(body.model), () => json(200, { object: 'response.input_tokens', input_tokens: n }, headers()))
      )
    }
    if (route === 'POST /v1/responses/compact')
      return bad(missing(body, 'model')) ?? ctx.serve(fromBehaviour(body.model), () => json(200, compacted(body), headers()))
    if (route === 'POST /v1/responses') return bad(missing(body, 'model')) ?? ctx.play(responsesCall(body))
    if (route === 'POST /v1/embeddings') {
      return (
        bad(missing(body, 'model') ?? missing(body, 'input') ?? badDimensions(body)) ??
        ctx.serve(fromBehaviour(body.model), () => json(200, embeddings(body), headers()))
      )
    }
    if (route === 'POST /v1/images/generations' || route === 'POST /v1/images/edits') {
      const edit = route.endsWith('edits')
      const noImage =
        edit && !body?.image && !body?.['image[]']
          ? err(400, "Missing required parameter: 'image'.", 'invalid_request_error', 'missing_required_parameter', 'image')
          : undefined
      return bad(missing(body, 'prompt') ?? noImage) ?? ctx.serve(fromBehaviour(body.model ?? ''), () => json(200, images(body), headers()))
    }
    if (route === 'POST /v1/audio/transcriptions') {
      const noFile =
        typeof body?.file !== 'object'
          ? err(400, "Missing required parameter: 'file'.", 'invalid_request_error', 'missing_required_parameter', 'file')
          : undefined
      return bad(noFile ?? missing(body, 'model')) ?? ctx.serve(fromBehaviour(body.model), () => transcription(body))
    }
    if (route === 'GET /v1/models') return ctx.serve(fromBehaviour(''), () => json(200, { object: 'list', data: MODELS.map(model) }, headers()))
    const one = route.match(/^GET \/v1\/models\/(.+)$/)
    if (one) return ctx.serve(fromBehaviour(at(one, 1)), () => json(200, model(decodeURIComponent(at(one, 1))), headers()))
    return errorResponse(err(404, `Invalid URL (${rec.method} ${rec.path})`, 'invalid_request_error'))
  },
}
