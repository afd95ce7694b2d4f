/**
 * IR events → OpenAI Chat Completions SSE (`chat.completion.chunk` frames, then `data: [DONE]`).
 * Thinking streams as `reasoning_content` deltas; an IR error becomes an in-stream error frame.
 * Every chunk frame shares its envelope (id, created, model): written once per stream, around each delta.
 */
import type { CodecContext, IRError, IREvent, StreamWriter } from '../../../ir/types'
import { sseText } from '../../../ir/sse'
import { batchesOf, writeStream } from '../../../ir/batches'
import { finishReasonOut, nowSeconds, truncatedStream, usageOut, withPrefix, type OpenAIFinishReason } from '../mapping'
import { thrownError } from '../../../ir/errors'
import { errorBody } from '../errors'
import { rawBody } from '../../guards'
import type { ChatCompletionRequestBody } from './schema'

/** IR events → chat.completion.chunk SSE */
export function encodeChatStream(events: AsyncIterable<IREvent>, ctx: CodecContext): ReadableStream<Uint8Array> {
  return writeStream(batchesOf(events), new ChatStreamWriter(ctx))
}

const DONE = 'data: [DONE]\n\n'

/** The frames of encodeChatStream, event by event. */
export class ChatStreamWriter implements StreamWriter {
  done = false
  private readonly includeUsage: boolean
  private readonly created = nowSeconds()
  private id = withPrefix('chatcmpl-', undefined)
  /** the frame up to its choice's delta (set when the first event fixes the id) */
  private head = ''
  /** IR block index → OpenAI tool_calls[].index (counted over tool calls only) */
  private readonly toolIndex = new Map<number, number>()

  constructor(private readonly ctx: CodecContext) {
    this.includeUsage = rawBody<ChatCompletionRequestBody>(ctx.raw).stream_options?.include_usage === true
  }

  event(ev: IREvent): string {
    if (this.done) return ''
    if (ev.type === 'error') return this.fail(ev.error)
    let out = ''
    if (!this.head) {
      if (ev.type === 'start') this.id = withPrefix('chatcmpl-', ev.id)
      // the same bytes as JSON.stringify of the whole chunk object
      this.head = `data: {"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(this.ctx.clientModel)},"choices":[{"index":0,"delta":`
      out = this.chunk('{"role":"assistant","content":""}')
    }
    switch (ev.type) {
      case 'block_start':
        if (ev.block.type === 'tool_call') {
          const k = this.toolIndex.size
          this.toolIndex.set(ev.index, k)
          out += this.chunk(JSON.stringify({ tool_calls: [{ index: k, id: ev.block.id, type: 'function', function: { name: ev.block.name, arguments: '' } }] }))
        }
        return out
      case 'text_delta':
        return ev.text ? out + this.chunk(`{"content":${JSON.stringify(ev.text)}}`) : out
      case 'thinking_delta':
        return ev.text ? out + this.chunk(`{"reasoning_content":${JSON.stringify(ev.text)}}`) : out
      case 'tool_args_delta': {
        const k = this.toolIndex.get(ev.index)
        return k !== undefined && ev.json ? out + this.chunk(`{"tool_calls":[{"index":${k},"function":{"arguments":${JSON.stringify(ev.json)}}}]}`) : out
      }
      case 'finish':
        this.done = true
        out += this.chunk('{}', finishReasonOut(ev.reason, this.toolIndex.size > 0))
        if (this.includeUsage)
          out += sseText({
            id: this.id,
            object: 'chat.completion.chunk',
            created: this.created,
            model: this.ctx.clientModel,
            choices: [],
            usage: usageOut(ev.usage),
          })
        return out + DONE
      // start, signature, block_stop: nothing to say on this wire
      default:
        return out
    }
  }

  broken(thrown?: unknown): string {
    return this.fail(thrown === undefined ? truncatedStream() : thrownError(thrown))
  }

  /** one chunk frame: `delta` is the delta object's JSON */
  private chunk(delta: string, finish: OpenAIFinishReason | null = null): string {
    return `${this.head}${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`
  }

  private fail(e: IRError): string {
    this.done = true
    return sseText(errorBody(e)) + DONE
  }
}
