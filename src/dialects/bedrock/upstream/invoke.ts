/**
 * Claude on Bedrock for Anthropic clients, with as little translation as possible: InvokeModel /
 * InvokeModelWithResponseStream take the client's Messages body with `anthropic_version: "bedrock-2023-05-31"` and
 * without `model` / `stream` (the model is in the path; anthropic-beta travels as `anthropic_beta`); the stream's
 * event stream `chunk` messages carry each Anthropic SSE event as base64 JSON, re-framed here as Anthropic SSE.
 */
import type { IRError } from '../../../ir/types'
import { err } from '../../../ir/errors'
import { IRErrorValue } from '../../../ir/errors'
import { parseEventStream } from '../../../ir/eventstream'
import { sseFrame } from '../../../ir/sse'
import { asObject } from '../../guards'
import { exceptionFromBedrock } from '../mapping'
import { modelPath } from './request'

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31'

/** The client's Messages body → the InvokeModel path and body for `model`. */
export function invokeRequest(body: Record<string, unknown>, model: string, stream: boolean, beta: string | null): { path: string; body: string } {
  const { model: _m, stream: _s, ...rest } = body
  const betas = (beta ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
  const out = { anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...rest, ...(betas.length && { anthropic_beta: betas }) }
  return { path: modelPath(model, stream ? 'invoke-with-response-stream' : 'invoke'), body: JSON.stringify(out) }
}

const td = new TextDecoder()

/** InvokeModelWithResponseStream bytes → Anthropic SSE bytes; an exception or a broken frame → `errorFrame`. */
export function invokeStreamToSSE(body: ReadableStream<Uint8Array>, errorFrame: (e: IRError) => Uint8Array, maxBytes?: number): ReadableStream<Uint8Array> {
  const messages = parseEventStream(body, maxBytes)
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          for (;;) {
            const { value: m, done } = await messages.next()
            if (done) return c.close()
            const payload = asObject(JSON.parse(td.decode(m.payload)))
            if (m.headers[':message-type'] === 'exception' || m.headers[':message-type'] === 'error') {
              c.enqueue(errorFrame(exceptionFromBedrock(m.headers[':exception-type'] ?? m.headers[':error-code'] ?? '', payload)))
              return c.close()
            }
            if (m.headers[':event-type'] !== 'chunk' || typeof payload.bytes !== 'string') continue
            const json = Buffer.from(payload.bytes, 'base64').toString('utf8')
            const type = asObject(JSON.parse(json)).type
            c.enqueue(sseFrame(json, typeof type === 'string' ? type : undefined))
            return
          }
        } catch (e) {
          c.enqueue(errorFrame(e instanceof IRErrorValue ? e.error : err('upstream', `the upstream sent an unreadable stream event (${(e as Error).message})`)))
          c.close()
        }
      },
      async cancel() {
        await messages.return(undefined)
        await body.cancel().catch(() => {})
      },
    },
    { highWaterMark: 0 },
  )
}
