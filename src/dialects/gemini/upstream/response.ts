/**
 * Gemini GenerateContentResponse (a whole JSON answer) → IR response: the chunk decoder's events, folded.
 */
import type { CodecContext, IREvent, IRResponse } from '../../../ir/types'
import { IRErrorValue, err } from '../../../ir/errors'
import { isObject } from '../../guards'
import { errorFromWire } from '../errors'
import { GeminiChunkDecoder } from './stream'

/** generateContent's JSON answer → IR response */
export function decodeGeminiResponse(body: unknown, ctx: CodecContext): IRResponse {
  if (!isObject(body)) throw new IRErrorValue(err('upstream', 'Gemini upstream returned a non-object body'))
  if (isObject(body.error)) throw new IRErrorValue(errorFromWire(body))
  const d = new GeminiChunkDecoder(ctx)
  return fold([...d.push(body), ...d.end()])
}

/** IR events → IR response, synchronously (the events of one whole response) */
function fold(events: IREvent[]): IRResponse {
  const res: IRResponse = { id: '', model: '', content: [], stopReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 } }
  const blocks = new Map<number, IRResponse['content'][number]>()
  for (const ev of events) {
    if (ev.type === 'start') {
      res.id = ev.id
      res.model = ev.model
    } else if (ev.type === 'block_start') {
      const b = ev.block
      const part: IRResponse['content'][number] =
        b.type === 'text'
          ? { type: 'text', text: '' }
          : b.type === 'tool_call'
            ? { type: 'tool_call', id: b.id, name: b.name, arguments: '' }
            : { type: 'thinking', text: '' }
      blocks.set(ev.index, part)
      res.content.push(part)
    } else if (ev.type === 'text_delta' || ev.type === 'thinking_delta') {
      const p = blocks.get(ev.index)
      if (p && p.type !== 'tool_call') p.text += ev.text
    } else if (ev.type === 'tool_args_delta') {
      const p = blocks.get(ev.index)
      if (p?.type === 'tool_call') p.arguments += ev.json
    } else if (ev.type === 'signature') {
      const p = blocks.get(ev.index)
      if (p && p.type !== 'text') p.signature = ev.signature
    } else if (ev.type === 'finish') {
      res.stopReason = ev.reason
      res.usage = ev.usage
    }
  }
  return res
}
