/**
 * Gemini GenerateContentResponse chunks (streamed with alt=sse) → IR events; response.ts folds the
 * events of a whole response.
 *
 * Text parts → text blocks, thought parts → thinking blocks (consecutive chunks extend the open block),
 * each functionCall part → a whole tool_call block (block_start, one tool_args_delta, signature, block_stop).
 * thoughtSignatures become signature events on their block; a functionCall's signature is also
 * remembered by tool call id (src/ir/signatures.ts) for clients that cannot carry it back.
 */
import type { CodecContext, IRError, IREvent, IRStopReason } from '../../../ir/types'
import { sseBatches, type Batches } from '../../../ir/batches'
import { memoryOf, rememberSignature, rememberThoughtSignature } from '../../../ir/signatures'
import { finishToIR, randomId, safeId, usageToIR } from '../mapping'
import { errorFromWire } from '../errors'
import { err } from '../../../ir/errors'
import { asArray, dig, isObject } from '../../guards'

/** Turns a sequence of response chunks into IR events; one instance per response. */
export class GeminiChunkDecoder {
  private started = false
  private next = 0
  private open: { kind: 'text' | 'thinking'; index: number } | null = null
  private sawToolCall = false
  private finishReason: string | undefined
  /** the latest usageMetadata seen (Gemini repeats it, growing, on later chunks) */
  private usage: unknown
  private blocked = false
  private warnedMedia = false

  constructor(private readonly ctx: CodecContext) {}

  get hasStarted(): boolean {
    return this.started
  }

  /** The events of one response chunk, added to `out` (and returned). */
  push(chunk: Record<string, unknown>, out: IREvent[] = []): IREvent[] {
    if (!this.started) {
      this.started = true
      const u = chunk.usageMetadata
      out.push({
        type: 'start',
        id: typeof chunk.responseId === 'string' && chunk.responseId ? chunk.responseId : randomId('gemini-'),
        model: typeof chunk.modelVersion === 'string' && chunk.modelVersion ? chunk.modelVersion : this.ctx.clientModel,
        ...(dig(u, 'promptTokenCount') ? { usage: { inputTokens: usageToIR(u).inputTokens } } : {}),
      })
    }
    if (isObject(chunk.usageMetadata)) this.usage = chunk.usageMetadata
    if (dig(chunk, 'promptFeedback', 'blockReason')) this.blocked = true
    const cand: unknown = asArray(chunk.candidates)[0]
    if (!isObject(cand)) return out
    for (const part of asArray(dig(cand, 'content', 'parts'))) {
      if (isObject(part)) this.part(part, out)
    }
    if (typeof cand.finishReason === 'string') this.finishReason = cand.finishReason
    return out
  }

  private part(p: Record<string, unknown>, out: IREvent[]) {
    const sig = typeof p.thoughtSignature === 'string' && p.thoughtSignature ? p.thoughtSignature : undefined
    if (isObject(p.functionCall)) {
      this.close(out)
      const fc = p.functionCall
      const index = this.next++
      const id = fc.id ? safeId(String(fc.id)) : randomId('call_')
      out.push({ type: 'block_start', index, block: { type: 'tool_call', id, name: String(fc.name ?? '') } })
      out.push({ type: 'tool_args_delta', index, json: JSON.stringify(isObject(fc.args) ? fc.args : {}) })
      if (sig) {
        out.push({ type: 'signature', index, signature: sig })
        rememberSignature(id, sig, memoryOf(this.ctx))
      }
      out.push({ type: 'block_stop', index })
      this.sawToolCall = true
      return
    }
    let text: string | undefined
    let kind: 'text' | 'thinking' = p.thought === true ? 'thinking' : 'text'
    if (typeof p.text === 'string') text = p.text
    else if (isObject(p.executableCode))
      text = `\n\`\`\`${String(p.executableCode.language ?? '').toLowerCase()}\n${String(p.executableCode.code ?? '')}\n\`\`\`\n`
    else if (isObject(p.codeExecutionResult)) text = String(p.codeExecutionResult.output ?? '')
    else if (!sig) {
      if ((p.inlineData || p.fileData) && !this.warnedMedia) {
        this.warnedMedia = true
        this.ctx.warn('Gemini returned media output, which this client dialect cannot receive; dropped')
      }
      return
    }
    if (text) {
      const index = this.ensure(kind, out)
      out.push(kind === 'text' ? { type: 'text_delta', index, text } : { type: 'thinking_delta', index, text })
    }
    if (sig) {
      // a signature-only part belongs to whatever block is open (Gemini 3 ends a turn this way)
      if (!text && this.open) kind = this.open.kind
      const index = this.ensure(kind, out)
      out.push({ type: 'signature', index, signature: sig })
      if (kind === 'thinking') rememberThoughtSignature(sig, memoryOf(this.ctx))
    }
  }

  private ensure(kind: 'text' | 'thinking', out: IREvent[]): number {
    if (this.open?.kind === kind) return this.open.index
    this.close(out)
    const index = this.next++
    out.push({ type: 'block_start', index, block: { type: kind } })
    this.open = { kind, index }
    return index
  }

  private close(out: IREvent[]) {
    if (this.open) out.push({ type: 'block_stop', index: this.open.index })
    this.open = null
  }

  /** The events that end the response, added to `out` (and returned). */
  end(out: IREvent[] = []): IREvent[] {
    this.close(out)
    let reason: IRStopReason = finishToIR(this.finishReason, this.sawToolCall)
    if (this.blocked && !this.finishReason) reason = 'content_filter'
    out.push({ type: 'finish', reason, usage: usageToIR(this.usage) })
    return out
  }
}

/** streamGenerateContent?alt=sse → IR events; an error chunk ends them with an IR error */
export async function* decodeGeminiStream(body: ReadableStream<Uint8Array>, ctx: CodecContext): AsyncGenerator<IREvent> {
  for await (const batch of decodeGeminiBatches(body, ctx)) yield* batch
}

/** The events of decodeGeminiStream, one batch per upstream chunk: each chunk is decoded once, its frames parsed once each. */
export function decodeGeminiBatches(body: ReadableStream<Uint8Array>, ctx: CodecContext): Batches {
  const d = new GeminiChunkDecoder(ctx)
  return sseBatches(body, ctx.sseEventMax, {
    message(msg, out) {
      const failed = decodeFrame(msg.data, d, out)
      if (!failed) return
      out.push({ type: 'error', error: failed })
      return 'stop'
    },
    end(out) {
      if (!d.hasStarted) out.push({ type: 'error', error: err('upstream', 'Gemini upstream returned an empty stream') })
      else d.end(out)
    },
  })
}

/** One SSE frame's chunk → its events (added to `out`); an error chunk or unreadable JSON → the error that ends the stream. */
function decodeFrame(data: string, d: GeminiChunkDecoder, out: IREvent[]): IRError | undefined {
  if (data === '[DONE]' || !data.trim()) return
  let chunk: unknown
  try {
    chunk = JSON.parse(data)
  } catch {
    return err('upstream', 'Gemini upstream sent an unreadable stream chunk')
  }
  if (!isObject(chunk)) return
  if (isObject(chunk.error)) return errorFromWire(chunk)
  d.push(chunk, out)
}
