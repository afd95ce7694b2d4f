/**
 * Fixed answers for the benchmark's upstream (bench/upstream.ts), rendered once at start by the fakes' own
 * wire builders, so the bench speaks exactly the wire formats the tests check, and kept as bytes, so serving
 * one costs the fake no JSON work (the bench measures agproxy, not the fake).
 */
import { messagesCall } from './anthropic'
import { generateCall } from './gemini'
import { chatCall } from './openai'
import type { ModelCall, Reply } from './upstream'

/** A stream as the bench sends it: `head` = the opening frames and the first content frame (one write), `rest` = one frame each. */
export interface FixedStream {
  contentType: string
  head: Uint8Array<ArrayBuffer>
  rest: Uint8Array<ArrayBuffer>[]
}

export interface FixedAnswer {
  json: Uint8Array<ArrayBuffer>
  jsonType: string
  stream: FixedStream
}

const te = new TextEncoder()
const WORDS = 'The quick brown fox jumps over the lazy dog while the gateway relays every token without delay and keeps memory small'.split(' ')

/** The fixed answer text, split over `n` chunks. */
export function answerChunks(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i ? ' ' : '') + WORDS[i % WORDS.length])
}

const reply = (model: string, text: string[]): Reply => ({
  nonce: 'bench0000000000000000001',
  created: 1_700_000_000,
  model,
  thinking: [],
  text,
  calls: [],
  usage: { input: 20, output: text.length, cached: 0, reasoning: 0 },
  finish: 'stop',
})

function render(call: ModelCall, r: Reply): FixedAnswer {
  const frames = [...call.frames(r)]
  const firstContent = frames.findIndex(f => f.content)
  const cut = firstContent < 0 ? frames.length : firstContent + 1
  return {
    json: te.encode(JSON.stringify(call.json(r))),
    jsonType: call.jsonType ?? 'application/json',
    stream: {
      contentType: call.contentType,
      head: te.encode(
        frames
          .slice(0, cut)
          .map(f => f.data)
          .join(''),
      ),
      rest: frames.slice(cut).map(f => (typeof f.data === 'string' ? te.encode(f.data) : new Uint8Array(f.data))),
    },
  }
}

/** Every answer the bench serves, for a text of `chunks` stream chunks. */
export function fixedAnswers(chunks: number) {
  const text = answerChunks(chunks)
  const gemini = (sse: boolean) => render(generateCall({ contents: [] }, 'gemini-bench', true, sse, false), reply('gemini-bench', text))
  return {
    openai: render(chatCall({ model: 'gpt-bench', stream: true, messages: [] }), reply('gpt-bench', text)),
    anthropic: render(messagesCall({ model: 'claude-bench', stream: true, messages: [] }, {}), reply('claude-bench', text)),
    geminiSse: gemini(true),
    geminiArray: gemini(false),
  }
}
