/**
 * AWS Bedrock runtime wire for the fake upstream, after the public API reference:
 * `POST /model/{modelId}/converse | converse-stream` (Converse) and `/invoke | /invoke-with-response-stream`
 * (a model's native body: Claude's Messages body with `anthropic_version: "bedrock-2023-05-31"` and no model).
 * Every call must carry a valid AWS Signature Version 4, recomputed here from the request as it arrived (canonical
 * request, string to sign, signing key from the test secret); a bad one gets Bedrock's 403 InvalidSignatureException,
 * an unknown access key 403 UnrecognizedClientException. Streams are `application/vnd.amazon.eventstream` binary
 * messages with correct CRC32s (`corruptFrame` flips one message's CRC). Bedrock API keys (bearer tokens) work too.
 * Validates what the real API rejects: extraneous keys (`model`), roles that do not alternate, blank text,
 * unknown image formats, tool results without their tool use, tools used with no toolConfig.
 */
import { createHash, createHmac } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { messagesCall } from './anthropic'
import {
  charsIn,
  errorResponse,
  fakeSignature,
  type ErrorBehaviour,
  type ErrorReply,
  type Frame,
  type ModelCall,
  type Reply,
  type Wire,
  type WireCtx,
} from './upstream'

const te = new TextEncoder()

// ───────────── errors ─────────────

const EXCEPTIONS: Record<number, [string, string]> = {
  400: ['ValidationException', 'Malformed input request, please reformat your input and try again.'],
  403: ['AccessDeniedException', "You don't have access to the model with the specified model ID."],
  404: ['ResourceNotFoundException', 'Could not resolve the foundation model from the provided model identifier.'],
  408: ['ModelTimeoutException', 'Model has timed out in processing the request. Try your request again.'],
  424: ['ModelErrorException', 'The system encountered an unexpected error during processing. Try your request again.'],
  429: ['ThrottlingException', 'Too many requests, please wait before trying again.'],
  500: ['InternalServerException', 'The server encountered an internal error while processing the request.'],
  503: ['ServiceUnavailableException', 'Bedrock is unable to process your request.'],
}

/** Bedrock's error: `{"message"}` with the exception's name in x-amzn-ErrorType */
export function bedrockError(status: number, message?: string, type?: string, retryDelaySeconds?: number): ErrorReply {
  const [name, text] = EXCEPTIONS[status] ?? (status >= 500 ? EXCEPTIONS[500]! : EXCEPTIONS[400]!)
  const headers: Record<string, string> = {
    'x-amzn-requestid': crypto.randomUUID(),
    'x-amzn-errortype': `${type ?? name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
  }
  if (retryDelaySeconds !== undefined) headers['retry-after'] = String(retryDelaySeconds)
  return { status, headers, body: { message: message ?? text } }
}
const invalid = (message: string) => bedrockError(400, message)
const fromBehaviour = (b: ErrorBehaviour) => bedrockError(b.status, b.message, undefined, b.retryDelaySeconds)

// ───────────── SigV4, recomputed ─────────────

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const hmac = (k: string | Buffer, s: string) => createHmac('sha256', k).update(s).digest()
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** `ID:SECRET[:TOKEN]` entries of the fake's keys, by access key id */
const credentials = (keys: string[] | undefined) =>
  new Map(
    (keys ?? [])
      .filter(k => k.includes(':'))
      .map(k => {
        const [id, secret, token] = k.split(':')
        return [id!, { key: k, secret: secret!, token }]
      }),
  )

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ' +
  'Consult the service documentation for details.'

/** undefined when the request's signature is right; else Bedrock's 403 */
function checkSignature(ctx: WireCtx, req: { method: string; headers: Record<string, string> }): ErrorReply | undefined {
  const auth = req.headers.authorization ?? ''
  if (/^Bearer /i.test(auth)) return undefined // a Bedrock API key: keyOf already matched it
  const m = AUTH.exec(auth)
  if (!m) return bedrockError(403, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.", 'IncompleteSignatureException')
  const [, id, day, region, service, signed, signature] = m
  const cred = credentials(ctx.opts.keys).get(id!)
  if (!cred) return bedrockError(403, 'The security token included in the request is invalid.', 'UnrecognizedClientException')
  const date = req.headers['x-amz-date'] ?? ''
  if (!date.startsWith(day!) || service !== 'bedrock') return bedrockError(403, SIGNATURE_MISMATCH, 'InvalidSignatureException')
  const when = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'))
  if (!(Math.abs(Date.now() - when) < 5 * 60_000))
    return bedrockError(403, `Signature expired: ${date} is now earlier or later than 5 min.`, 'InvalidSignatureException')
  if (cred.token && req.headers['x-amz-security-token'] !== cred.token)
    return bedrockError(403, 'The security token included in the request is invalid.', 'UnrecognizedClientException')
  const names = signed!.split(';')
  if (!names.includes('host') || !names.includes('x-amz-date')) return bedrockError(403, SIGNATURE_MISMATCH, 'InvalidSignatureException')
  const payload = sha256(ctx.rec.raw ?? '')
  if (req.headers['x-amz-content-sha256'] && req.headers['x-amz-content-sha256'] !== payload)
    return bedrockError(400, 'The provided x-amz-content-sha256 header does not match what was computed.', 'XAmzContentSHA256Mismatch')
  const query = [...ctx.url.searchParams]
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&')
  const canonical = [
    req.method,
    ctx.url.pathname.split('/').map(enc).join('/'),
    query,
    ...names.map(n => `${n}:${(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}`),
    '',
    signed,
    payload,
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const key = hmac(hmac(hmac(hmac(`AWS4${cred.secret}`, day!), region!), service!), 'aws4_request')
  const expected = createHmac('sha256', key)
    .update(['AWS4-HMAC-SHA256', date, scope, sha256(canonical)].join('\n'))
    .digest('hex')
  return expected === signature ? undefined : bedrockError(403, SIGNATURE_MISMATCH, 'InvalidSignatureException')
}

// ───────────── event stream framing ─────────────

/** One event stream message: prelude (total, headers length, CRC32), string headers, payload, message CRC32. */
export function eventMessage(headers: Record<string, string>, payload: Uint8Array, corrupt = false): Uint8Array {
  const hs = Object.entries(headers).map(([k, v]) => {
    const name = te.encode(k)
    const value = te.encode(v)
    const h = new Uint8Array(1 + name.length + 1 + 2 + value.length)
    h[0] = name.length
    h.set(name, 1)
    h[1 + name.length] = 7 // string
    new DataView(h.buffer).setUint16(2 + name.length, value.length)
    h.set(value, 4 + name.length)
    return h
  })
  const headersLen = hs.reduce((n, h) => n + h.length, 0)
  const total = 12 + headersLen + payload.length + 4
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  view.setUint32(0, total)
  view.setUint32(4, headersLen)
  view.setUint32(8, crc32(out.subarray(0, 8)))
  let at = 12
  for (const h of hs) {
    out.set(h, at)
    at += h.length
  }
  out.set(payload, at)
  view.setUint32(total - 4, (crc32(out.subarray(0, total - 4)) ^ (corrupt ? 1 : 0)) >>> 0)
  return out
}

/** the random padding Bedrock adds to every event (it hides the length of the text) */
const padding = () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0'.slice(0, 4 + Math.floor(Math.random() * 40))

const eventFrame = (type: string, data: object, content = false): Frame => ({
  data: eventMessage(
    { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
    te.encode(JSON.stringify({ ...data, p: padding() })),
  ),
  content,
})

/** an exception inside a stream (camelCase names, as the stream sends them) */
const exceptionFrame = (b: ErrorBehaviour) => {
  const e = bedrockError(b.status, b.message)
  const name = String(e.headers?.['x-amzn-errortype']).replace(/:.*$/, '')
  return eventMessage(
    { ':exception-type': name[0]!.toLowerCase() + name.slice(1), ':content-type': 'application/json', ':message-type': 'exception' },
    te.encode(JSON.stringify(e.body)),
  )
}

/** frames with the `n`-th one's CRC corrupted (the option `corruptFrame`) */
function* corrupting(frames: Iterable<Frame>, n: number | undefined): Generator<Frame> {
  let i = 0
  for (const f of frames) {
    if (i++ !== n || typeof f.data === 'string') yield f
    else {
      const bad = f.data.slice()
      bad[bad.length - 1]! ^= 0xff
      yield { ...f, data: bad }
    }
  }
}

// ───────────── Converse ─────────────

const TOP_KEYS = new Set([
  'messages',
  'system',
  'inferenceConfig',
  'toolConfig',
  'guardrailConfig',
  'additionalModelRequestFields',
  'additionalModelResponseFieldPaths',
  'promptVariables',
  'requestMetadata',
  'performanceConfig',
])
const BLOCKS = new Set(['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent'])
const FORMATS = new Set(['png', 'jpeg', 'gif', 'webp'])

function validateConverse(body: any): ErrorReply | undefined {
  if (!body || typeof body !== 'object') return invalid('Malformed input request: expected a JSON object')
  for (const k of Object.keys(body))
    if (!TOP_KEYS.has(k)) return invalid(`Malformed input request: extraneous key [${k}] is not permitted, please reformat your input and try again.`)
  const msgs = body.messages
  if (!Array.isArray(msgs) || !msgs.length)
    return invalid('A conversation must start with a user message. Try again with a conversation that starts with a user message.')
  const tools = new Set((body.toolConfig?.tools ?? []).map((t: any) => t.toolSpec?.name))
  for (const t of body.toolConfig?.tools ?? [])
    if (typeof t.toolSpec?.inputSchema?.json !== 'object') return invalid('The value at toolConfig.tools.0.toolSpec.inputSchema.json must be a JSON object')
  for (const [i, m] of msgs.entries()) {
    if (m.role !== (i % 2 ? 'assistant' : 'user'))
      return invalid(
        'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
      )
    if (!Array.isArray(m.content) || !m.content.length)
      return invalid(`The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`)
    const uses = new Set((msgs[i - 1]?.content ?? []).filter((c: any) => c.toolUse).map((c: any) => c.toolUse.toolUseId))
    for (const [j, c] of m.content.entries()) {
      const keys = Object.keys(c ?? {})
      if (keys.length !== 1 || !BLOCKS.has(keys[0]!))
        return invalid(`The ContentBlock object at messages.${i}.content.${j} must set one of the following keys: text, image, toolUse, toolResult, …`)
      if (typeof c.text === 'string' && !c.text.trim())
        return invalid(`The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`)
      if (c.image && (!FORMATS.has(c.image.format) || !(c.image.source?.bytes || c.image.source?.s3Location)))
        return invalid(`The image at messages.${i}.content.${j} must have a format of png, jpeg, gif or webp and a source`)
      if (c.toolUse && !tools.has(c.toolUse.name)) return invalid('The toolConfig field must be defined when using toolUse and toolResult content blocks.')
      if (c.toolResult && !uses.has(c.toolResult.toolUseId))
        return invalid(
          `The toolResult blocks at messages.${i}.content contain toolUseId ${c.toolResult.toolUseId} that does not match any toolUse block in the previous turn.`,
        )
      if (c.reasoningContent?.reasoningText && !c.reasoningContent.reasoningText.signature)
        return invalid(`messages.${i}.content.${j}.reasoningContent.reasoningText.signature: Field required`)
    }
  }
  return undefined
}

function lastUserText(msgs: any[]): string {
  const m = [...msgs].reverse().find(x => x?.role === 'user')
  const content: any[] = m?.content ?? []
  const text = content
    .filter(c => typeof c.text === 'string')
    .map(c => c.text)
    .join('')
  if (text) return text
  return content
    .filter(c => c.toolResult)
    .map(c => (c.toolResult.content ?? []).map((x: any) => x.text ?? (x.json ? JSON.stringify(x.json) : '')).join(''))
    .join('')
}

const toolId = (r: Reply, i: number) => r.calls[i]?.id ?? `tooluse_${r.nonce.slice(0, 20)}${i}`
const stopReason = (r: Reply) =>
  r.finish === 'tool_calls' ? 'tool_use' : r.finish === 'length' ? 'max_tokens' : r.finish === 'content_filter' ? 'content_filtered' : 'end_turn'
const usage = (r: Reply) => ({
  inputTokens: r.usage.input - r.usage.cached,
  outputTokens: r.usage.output,
  totalTokens: r.usage.input + r.usage.output,
  ...(r.usage.cached ? { cacheReadInputTokens: r.usage.cached, cacheWriteInputTokens: 0 } : {}),
})

function converseCall(ctx: WireCtx, model: string, stream: boolean, headers: Record<string, string>): ModelCall {
  const body = ctx.body
  return {
    model,
    stream,
    sse: false,
    contentType: 'application/vnd.amazon.eventstream',
    echo: lastUserText(body.messages),
    promptChars: charsIn(body.messages) + charsIn(body.system) + charsIn(body.toolConfig),
    headers,
    json: r => {
      const text = [...r.text].join('')
      const content: unknown[] = []
      if (r.thinking.length)
        content.push({ reasoningContent: { reasoningText: { text: r.thinking.join(''), signature: r.signature ?? fakeSignature(r.nonce) } } })
      if (text || !r.calls.length) content.push({ text })
      r.calls.forEach((c, i) => content.push({ toolUse: { toolUseId: toolId(r, i), name: c.name, input: JSON.parse(c.args) } }))
      return { output: { message: { role: 'assistant', content } }, stopReason: stopReason(r), usage: usage(r), metrics: { latencyMs: 42 } }
    },
    frames: r =>
      corrupting(
        (function* (): Generator<Frame> {
          yield eventFrame('messageStart', { role: 'assistant' })
          let index = 0
          if (r.thinking.length) {
            for (const t of r.thinking) yield eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { text: t } } }, true)
            yield eventFrame(
              'contentBlockDelta',
              { contentBlockIndex: index, delta: { reasoningContent: { signature: r.signature ?? fakeSignature(r.nonce) } } },
              true,
            )
            yield eventFrame('contentBlockStop', { contentBlockIndex: index++ })
          }
          const iter = r.text[Symbol.iterator]()
          let next = iter.next()
          if (!next.done || !r.calls.length) {
            for (; !next.done; next = iter.next()) yield eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { text: next.value } }, true)
            yield eventFrame('contentBlockStop', { contentBlockIndex: index++ })
          }
          for (const [i, c] of r.calls.entries()) {
            yield eventFrame('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: toolId(r, i), name: c.name } } })
            for (const a of c.argChunks) yield eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: a } } }, true)
            yield eventFrame('contentBlockStop', { contentBlockIndex: index++ })
          }
          yield eventFrame('messageStop', { stopReason: stopReason(r) })
          yield eventFrame('metadata', { usage: usage(r), metrics: { latencyMs: 42 } })
        })(),
        ctx.opts.corruptFrame,
      ),
    error: fromBehaviour,
    streamError: b => exceptionFrame(b),
  }
}

// ───────────── InvokeModel (Claude's own body) ─────────────

/** Claude's Messages call, its SSE events re-sent as event stream `chunk`s of base64 JSON */
function invokeCall(ctx: WireCtx, model: string, stream: boolean, headers: Record<string, string>): ModelCall | ErrorReply {
  const body = ctx.body
  if (!body || typeof body !== 'object') return invalid('Malformed input request: expected a JSON object')
  if (body.anthropic_version !== 'bedrock-2023-05-31')
    return invalid('Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.')
  for (const k of ['model', 'stream'])
    if (k in body) return invalid(`Malformed input request: #: extraneous key [${k}] is not permitted, please reformat your input and try again.`)
  const call = messagesCall({ ...body, model, stream }, headers)
  return {
    ...call,
    sse: false,
    contentType: 'application/vnd.amazon.eventstream',
    frames: r =>
      corrupting(
        (function* (): Generator<Frame> {
          for (const f of call.frames(r)) {
            const data = /^data: (.*)$/m.exec(String(f.data))?.[1] ?? '{}'
            yield eventFrame('chunk', { bytes: Buffer.from(data).toString('base64') }, f.content)
          }
        })(),
        ctx.opts.corruptFrame,
      ),
    error: fromBehaviour,
    streamError: b => exceptionFrame(b),
  }
}

export const bedrockWire: Wire = {
  base: '',
  keyOf: (req, _url, opts) => {
    const auth = req.headers.get('authorization') ?? ''
    if (/^Bearer /i.test(auth)) return auth.slice(7)
    const id = AUTH.exec(auth)?.[1]
    return id ? (credentials(opts.keys).get(id)?.key ?? id) : undefined
  },
  authError: key =>
    key === undefined
      ? bedrockError(403, 'Missing Authentication Token', 'MissingAuthenticationTokenException')
      : bedrockError(403, 'The security token included in the request is invalid.', 'UnrecognizedClientException'),
  handle(ctx: WireCtx) {
    const { rec } = ctx
    const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/.exec(rec.path)
    if (rec.method !== 'POST' || !m) return errorResponse(bedrockError(404, 'Not Found', 'UnknownOperationException'))
    if (!ctx.fast) {
      const bad = checkSignature(ctx, rec)
      if (bad) return errorResponse(bad)
    }
    const model = decodeURIComponent(m[1]!)
    const op = m[2]!
    const headers = { 'x-amzn-requestid': crypto.randomUUID() }
    if (op.startsWith('converse')) {
      const bad = validateConverse(ctx.body)
      return bad ? errorResponse(bad) : ctx.play(converseCall(ctx, model, op === 'converse-stream', headers))
    }
    const call = invokeCall(ctx, model, op === 'invoke-with-response-stream', headers)
    return 'status' in call ? errorResponse(call) : ctx.play(call)
  },
}
