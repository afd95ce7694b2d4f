/**
 * IR events → a Gemini streamGenerateContent body, one GenerateContentResponse chunk per delta as it
 * arrives. With `?alt=sse` (what @google/genai and Gemini CLI use): `data: {chunk}\n\n` frames;
 * without it: one JSON array streamed as `[chunk`, `,chunk`…, `]`, as Google does.
 * Gemini streams function calls whole, so a tool call's arguments are buffered until its block_stop.
 * Signatures go out at block_stop (as a signature-only part for thinking / text blocks). Thoughts the
 * client did not ask for are held back, and sent whole at block_stop only when signed (see thoughtPart).
 * An IR error (or a failing source) becomes an `{error: {code, message, status}}` chunk that ends the stream.
 */
import type { CodecContext, IRError, IREvent, StreamWriter } from '../../../ir/types'
import { err, thrownError } from '../../../ir/errors'
import { batchesOf, writeStream } from '../../../ir/batches'
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
  return writeStream(batchesOf(events), new GeminiStreamWriter(ctx))
}

/** the Content-Type the stream needs */
export const geminiStreamContentType = (ctx: CodecContext): string => (ctx.query?.alt === 'sse' ? 'text/event-stream' : 'application/json')

/** The chunks of encodeGeminiStream, event by event. A content chunk's envelope (model, response id) is written once per
 *  stream around its parts: the same bytes as JSON.stringify of the whole chunk. */
export class GeminiStreamWriter implements StreamWriter {
  done = false
  private readonly sse: boolean
  private readonly show: boolean
  /** chunks written (JSON array: the first opens the array) */
  private count = 0
  private responseId = ''
  /** what follows a content chunk's parts (its modelVersion and responseId) */
  private tail = ''
  private readonly blocks = new Map<number, Block>()

  constructor(private readonly ctx: CodecContext) {
    this.sse = ctx.query?.alt === 'sse'
    this.show = thoughtsWanted(ctx)
  }

  event(ev: IREvent): string {
    if (this.done) return ''
    switch (ev.type) {
      case 'start':
        this.responseId = ev.id
        this.tail = ''
        return ''
      case 'block_start': {
        const b = ev.block
        this.blocks.set(
          ev.index,
          b.type === 'tool_call'
            ? { kind: 'tool', id: b.id, name: b.name, args: '', held: '' }
            : { kind: b.type === 'text' ? 'text' : b.type === 'thinking' ? 'thinking' : 'skip', args: '', held: '' },
        )
        return ''
      }
      case 'text_delta':
        return ev.text ? this.chunk(`[{"text":${JSON.stringify(ev.text)}}]`) : ''
      case 'thinking_delta': {
        const b = this.blocks.get(ev.index)
        if (!ev.text || b?.kind !== 'thinking') return ''
        if (this.show) return this.chunk(`[{"text":${JSON.stringify(ev.text)},"thought":true}]`)
        b.held += ev.text // sent at block_stop only if signed (see thoughtPart)
        return ''
      }
      case 'signature': {
        const b = this.blocks.get(ev.index)
        if (b) b.signature = ev.signature
        return ''
      }
      case 'tool_args_delta': {
        const b = this.blocks.get(ev.index)
        if (b?.kind === 'tool') b.args += ev.json
        return ''
      }
      case 'block_stop': {
        const b = this.blocks.get(ev.index)
        this.blocks.delete(ev.index)
        return b ? this.blockEnd(b) : ''
      }
      case 'finish': {
        let out = ''
        // a tool call never closed: still deliver it
        for (const b of this.blocks.values()) if (b.kind === 'tool') out += this.parts([this.callPart(b)])
        this.blocks.clear()
        this.done = true
        return (
          out +
          this.frame({
            candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: finishToGemini(ev.reason), index: 0 }],
            usageMetadata: usageToGemini(ev.usage),
            modelVersion: this.ctx.clientModel,
            responseId: this.responseId,
          })
        )
      }
      case 'error':
        return this.fail(ev.error)
    }
  }

  broken(thrown?: unknown): string {
    return this.fail(
      thrown === undefined ? err('upstream', 'upstream stream ended before the response was complete') : thrownError(thrown, 'upstream stream failed'),
    )
  }

  private blockEnd(b: Block): string {
    if (b.kind === 'tool') return this.parts([this.callPart(b)])
    if (b.kind === 'thinking' && b.signature) {
      const part = thoughtPart(this.show ? '' : b.held, b.signature, this.show)
      return part ? this.parts([part]) : ''
    }
    if (b.kind === 'text' && b.signature) return this.parts([{ text: '', thoughtSignature: b.signature }])
    return ''
  }

  private callPart(b: Block): GeminiPartOut {
    return functionCallPart(b.id ?? '', b.name ?? '', argsObject(b.args, this.ctx), b.signature)
  }

  private parts(parts: GeminiPartOut[]): string {
    return this.chunk(JSON.stringify(parts))
  }

  /** a content chunk; `parts` is the JSON of its parts array */
  private chunk(parts: string): string {
    this.tail ||= `},"index":0}],"modelVersion":${JSON.stringify(this.ctx.clientModel)},"responseId":${JSON.stringify(this.responseId)}}`
    return this.framed(`{"candidates":[{"content":{"role":"model","parts":${parts}${this.tail}`)
  }

  private frame(obj: unknown): string {
    return this.framed(JSON.stringify(obj))
  }

  /** one chunk's JSON as this stream frames it */
  private framed(json: string): string {
    if (this.sse) return `data: ${json}\n\n`
    return (this.count++ === 0 ? '[' : '\n,\r\n') + json
  }

  /** a JSON array's end */
  closing(): string {
    return this.sse ? '' : this.count === 0 ? '[]' : '\n]'
  }

  private fail(e: IRError): string {
    this.done = true
    return this.frame(errorBody(e))
  }
}
