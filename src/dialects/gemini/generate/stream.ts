/**
 * IR events → a Gemini streamGenerateContent body, one GenerateContentResponse chunk per delta as it
 * arrives. With `?alt=sse` (what @google/genai and Gemini CLI use): `data: {chunk}\n\n` frames;
 * without it: one JSON array streamed as `[chunk`, `,chunk`…, `]`, as Google does.
 * Gemini streams function calls whole, so a tool call's arguments are buffered until its block_stop.
 * Signatures go out at block_stop (as a signature-only part for thinking / text blocks). Thoughts the
 * client did not ask for are held back, and sent whole at block_stop only when signed (see thoughtPart).
 * An IR error (or a failing source) becomes an `{error: {code, message, status}}` chunk that ends the stream.
 */
import type { CodecContext, IRError, IREvent } from '../../../ir/types'
import { err, thrownError } from '../../../ir/errors'
import { sseFrame, streamFrom } from '../../../ir/sse'
import { argsObject, functionCallPart, thoughtPart, thoughtsWanted, type GeminiPartOut } from './encode'
import { finishToGemini, usageToGemini } from '../mapping'
import { errorBody } from '../errors'

interface Block {
  kind: 'text' | 'thinking' | 'skip' | 'tool'
  id?: string
  name?: string
  args: string
  signature?: string
  held: string
}

/** IR events → the streamGenerateContent body (SSE with ?alt=sse, else a streamed JSON array) */
export function encodeGeminiStream(events: AsyncIterable<IREvent>, ctx: CodecContext): ReadableStream<Uint8Array> {
  return streamFrom(geminiFrames(events, ctx))
}

/** the Content-Type the stream needs */
export const geminiStreamContentType = (ctx: CodecContext): string => (ctx.query?.alt === 'sse' ? 'text/event-stream' : 'application/json')

const te = new TextEncoder()

/** the frames of encodeGeminiStream, one per chunk as events arrive */
export async function* geminiFrames(events: AsyncIterable<IREvent>, ctx: CodecContext): AsyncGenerator<Uint8Array> {
  const sse = ctx.query?.alt === 'sse'
  const show = thoughtsWanted(ctx)
  let count = 0
  const frame = (obj: unknown): Uint8Array => {
    if (sse) return sseFrame(obj)
    return te.encode((count++ === 0 ? '[' : '\n,\r\n') + JSON.stringify(obj))
  }
  const end = (): Uint8Array[] => (sse ? [] : [te.encode(count === 0 ? '[]' : '\n]')])

  let responseId = ''
  const blocks = new Map<number, Block>()
  const chunk = (parts: GeminiPartOut[]) =>
    frame({
      candidates: [{ content: { role: 'model', parts }, index: 0 }],
      modelVersion: ctx.clientModel,
      responseId,
    })
  const errorFrames = (e: IRError) => [frame(errorBody(e)), ...end()]

  try {
    for await (const ev of events) {
      switch (ev.type) {
        case 'start':
          responseId = ev.id
          break
        case 'block_start': {
          const b = ev.block
          blocks.set(
            ev.index,
            b.type === 'tool_call'
              ? { kind: 'tool', id: b.id, name: b.name, args: '', held: '' }
              : { kind: b.type === 'text' ? 'text' : b.type === 'thinking' ? 'thinking' : 'skip', args: '', held: '' },
          )
          break
        }
        case 'text_delta':
          if (ev.text) yield chunk([{ text: ev.text }])
          break
        case 'thinking_delta': {
          const b = blocks.get(ev.index)
          if (!ev.text || b?.kind !== 'thinking') break
          if (show) yield chunk([{ text: ev.text, thought: true }])
          else b.held += ev.text // sent at block_stop only if signed (see thoughtPart)
          break
        }
        case 'signature': {
          const b = blocks.get(ev.index)
          if (b) b.signature = ev.signature
          break
        }
        case 'tool_args_delta': {
          const b = blocks.get(ev.index)
          if (b?.kind === 'tool') b.args += ev.json
          break
        }
        case 'block_stop': {
          const b = blocks.get(ev.index)
          blocks.delete(ev.index)
          if (!b) break
          if (b.kind === 'tool') yield chunk([functionCallPart(b.id ?? '', b.name ?? '', argsObject(b.args, ctx), b.signature)])
          else if (b.kind === 'thinking' && b.signature) {
            const part = thoughtPart(show ? '' : b.held, b.signature, show)
            if (part) yield chunk([part])
          } else if (b.kind === 'text' && b.signature) yield chunk([{ text: '', thoughtSignature: b.signature }])
          break
        }
        case 'finish':
          for (const b of blocks.values()) {
            // a tool call never closed: still deliver it
            if (b.kind === 'tool') yield chunk([functionCallPart(b.id ?? '', b.name ?? '', argsObject(b.args, ctx), b.signature)])
          }
          blocks.clear()
          yield frame({
            candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: finishToGemini(ev.reason), index: 0 }],
            usageMetadata: usageToGemini(ev.usage),
            modelVersion: ctx.clientModel,
            responseId,
          })
          yield* end()
          return
        case 'error':
          yield* errorFrames(ev.error)
          return
      }
    }
  } catch (e) {
    yield* errorFrames(thrownError(e, 'upstream stream failed'))
    return
  }
  yield* errorFrames(err('upstream', 'upstream stream ended before the response was complete'))
}
