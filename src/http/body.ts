/**
 * Reading a model route's JSON body: content type, size limit, slow senders, UTF-8, JSON, object,
 * schema; and a multipart/form-data one (images/edits, audio/transcriptions) under the same limits. Every failure is an IRError naming what is wrong and how to fix it.
 */
import type { IRError } from '../ir/types'
import { err } from './errors'
import type { FieldError } from '../schema/validate'
import type { BodyHold } from './body-budget'
import { boundaryOf, formFields, parseForm, type FormPart } from '../dialects/multipart'
import { deadline as bodyDeadline } from '../providers/stream-guard'

export interface BodyLimits {
  maxBytes: number /** ms allowed for the whole body to arrive */
  deadlineMs: number
}

export type BodyResult = { ok: true; value: Record<string, unknown>; bytes: Uint8Array } | { ok: false; error: IRError }

const utf8 = new TextDecoder('utf-8', { fatal: true })
const fail = (error: IRError) => ({ ok: false as const, error })
const mb = (n: number) => `${Math.round((n / 1048576) * 10) / 10} MB`

/** Read, decode, parse and check a JSON body; `hold` reserves its bytes in the app's budget (limits.request_bodies_mb). */
export async function readJsonBody(req: Request, limits: BodyLimits, validate?: (v: unknown) => FieldError | undefined, hold?: BodyHold): Promise<BodyResult> {
  const type = req.headers.get('content-type')
  if (type && !/^application\/([\w.+-]+\+)?json\b/i.test(type.trim()))
    return fail(
      err(
        'unsupported_media',
        `Content-Type "${type.slice(0, 80)}" is not accepted: model routes take a JSON body. Send "Content-Type: application/json" (with curl: -H ` +
          `'content-type: application/json').`,
      ),
    )
  const read = await readBounded(req, limits, hold)
  if (!read.ok) return read
  const bytes = read.bytes
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return fail(err('invalid_request', 'The request body is not valid UTF-8: encode the JSON body as UTF-8.'))
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    // (blank is checked only here: JSON.parse refuses it, and a body that parses is not blank)
    if (text.trim() === '') return fail(err('invalid_request', 'The request body is empty: send a JSON object, e.g. {"model": "...", "messages": [...]}.'))
    const msg = e instanceof RangeError ? 'it is nested too deeply' : (e as Error).message
    return fail(err('invalid_request', `The request body is not valid JSON (${msg}). Send a JSON object with Content-Type: application/json.`))
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(
      err('invalid_request', `The request body must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}.`),
    )
  // each level opens a bracket: a body of at most MAX_DEPTH bytes cannot nest deeper (no walk for a small one)
  if (bytes.length > MAX_DEPTH && tooDeep(value, MAX_DEPTH))
    return fail(err('invalid_request', `The request body is nested more than ${MAX_DEPTH} levels deep; no API request needs that. Flatten the JSON.`))
  if (validate) {
    let bad: ReturnType<typeof validate>
    try {
      bad = validate(value)
    } catch {
      return fail(err('invalid_request', 'The request body is nested too deeply to be a valid request.'))
    }
    if (bad) return fail(err('invalid_request', `${bad.path || 'body'}: ${bad.message}.`, { param: bad.path || undefined }))
  }
  return { ok: true, value: value as Record<string, unknown>, bytes }
}

/** The body's bytes within max_body_mb, reserved in `hold` (a declared length whole, before a byte is read). */
async function readBounded(req: Request, limits: BodyLimits, hold?: BodyHold): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; error: IRError }> {
  const declared = Number(req.headers.get('content-length') ?? NaN)
  if (declared > limits.maxBytes) return fail(tooLarge(declared, limits.maxBytes))
  const busy = declared > 0 ? hold?.add(declared) : undefined
  if (busy) return fail(busy)
  return readBytes(req, limits, hold)
}

export type FormResult = { ok: true; value: Record<string, unknown>; bytes: Uint8Array; parts: FormPart[] } | { ok: false; error: IRError }

/** Read and check a multipart/form-data body under the same limits as JSON; its parts are views into its bytes (no
 *  copy), its text fields are the value checked by `validate`. */
export async function readFormBody(req: Request, limits: BodyLimits, validate?: (v: unknown) => FieldError | undefined, hold?: BodyHold): Promise<FormResult> {
  const type = req.headers.get('content-type') ?? ''
  const boundary = /^multipart\/form-data\b/i.test(type.trim()) ? boundaryOf(type) : undefined
  if (!boundary)
    return fail(
      err(
        'unsupported_media',
        `Content-Type "${type.slice(0, 80) || '(none)'}" is not accepted: this route takes a multipart/form-data body with a boundary (the file and ` +
          "its fields; with curl: -F 'file=@audio.mp3' -F model=…).",
      ),
    )
  const read = await readBounded(req, limits, hold)
  if (!read.ok) return read
  const form = parseForm(read.bytes, boundary)
  if (!form.ok) return fail(err('invalid_request', `The request body is not valid multipart/form-data: ${form.why}.`))
  const value = formFields(form.parts)
  const bad = validate?.(value)
  if (bad) return fail(err('invalid_request', `${bad.path || 'body'}: ${bad.message}.`, { param: bad.path || undefined }))
  return { ok: true, value, bytes: read.bytes, parts: form.parts }
}

const tooLarge = (size: number, max: number) =>
  err(
    'request_too_large',
    `The request body${size ? ` (${mb(size)})` : ''} is larger than the limit of ${mb(max)}. Send a smaller request, or raise max_body_mb in agproxy.yaml.`,
  )

const slowBody = (limits: BodyLimits) =>
  err('timeout', `The request body did not arrive within ${limits.deadlineMs / 1000} s; the connection was too slow or stalled. Retry the request.`, {
    status: 408,
  })

/** Read the whole body, enforcing the size limit as bytes arrive and a deadline against slow senders; a body without
 *  a length is reserved in `hold` chunk by chunk. */
async function readBytes(req: Request, limits: BodyLimits, hold?: BodyHold): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; error: IRError }> {
  // a declared length (already checked against the limit): read natively in one go, no JS stream machinery (not even
  // req.body: making the stream costs ~5 µs a request)
  if (req.headers.has('content-length')) {
    const d = bodyDeadline(limits.deadlineMs)
    try {
      const buf = await Promise.race([req.arrayBuffer(), d.promise])
      if (buf === 'timeout') return { ok: false, error: slowBody(limits) }
      return { ok: true, bytes: new Uint8Array(buf) }
    } catch {
      return { ok: false, error: err('invalid_request', 'The request body could not be read (the connection closed early). Retry the request.') }
    } finally {
      d.clear()
    }
  }
  if (!req.body) return { ok: true, bytes: new Uint8Array() }
  const reader = req.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let timer: Timer | undefined
  let deadline: Promise<'timeout'> | undefined
  const started = Date.now()
  try {
    while (true) {
      const read = reader.read()
      // a body that has already arrived (the usual case) needs no timer; the deadline starts at the first wait
      const next =
        Bun.peek.status(read) === 'fulfilled'
          ? (Bun.peek(read) as Awaited<typeof read>)
          : await Promise.race([
              read,
              (deadline ??= new Promise<'timeout'>(r => {
                timer = setTimeout(() => r('timeout'), Math.max(1, limits.deadlineMs - (Date.now() - started)))
              })),
            ])
      if (next === 'timeout') {
        reader.cancel().catch(() => {})
        return { ok: false, error: slowBody(limits) }
      }
      if (next.done) break
      size += next.value.length
      if (size > limits.maxBytes) {
        reader.cancel().catch(() => {})
        return { ok: false, error: tooLarge(0, limits.maxBytes) }
      }
      const busy = hold?.add(next.value.length)
      if (busy) {
        reader.cancel().catch(() => {})
        return { ok: false, error: busy }
      }
      chunks.push(next.value)
    }
  } catch {
    return { ok: false, error: err('invalid_request', 'The request body could not be read (the connection closed early). Retry the request.') }
  } finally {
    clearTimeout(timer)
  }
  // biome-ignore lint/style/noNonNullAssertion: length checked
  if (chunks.length === 1) return { ok: true, bytes: chunks[0]! }
  const out = new Uint8Array(size)
  let off = 0
  for (const c of chunks) {
    out.set(c, off)
    off += c.length
  }
  return { ok: true, bytes: out }
}

/** No real request nests deeper than this (tool schemas included); deeper input is refused before any walk recurses. */
const MAX_DEPTH = 256

/** Iterative depth check with an early exit: visits each container once, never recurses. */
function tooDeep(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]]
  while (stack.length) {
    // biome-ignore lint/style/noNonNullAssertion: the loop runs while the stack is not empty
    const [v, d] = stack.pop()!
    if (d > max) return true
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push([x, d + 1])
    } else if (v !== null && typeof v === 'object') {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k]
        if (x !== null && typeof x === 'object') stack.push([x, d + 1])
      }
    }
  }
  return false
}
