/**
 * The internal representation (IR): the one language every dialect speaks.
 *
 * Cross-dialect traffic goes  client wire → IR → upstream wire  and back
 *   upstream wire/stream → IR → client wire/stream.
 * Same-dialect traffic never touches the IR (see providers/forward.ts).
 *
 * Every dialect module implements `ClientCodec` (what agproxy speaks to a client)
 * and/or `UpstreamCodec` (what agproxy speaks to a provider of that type).
 */

export type Dialect = 'openai' | 'anthropic' | 'gemini'

// the error model lives in ./errors; re-exported so that `ir/types` stays the one import for the IR
import type { IRError } from './errors'
import type { Lru } from './lru'
export type { ErrorKind, IRError } from './errors'
export { IRErrorValue, invalid } from './errors'

// ───────────── content ─────────────

export interface IRText {
  type: 'text'
  text: string
}

export type IRImageSource = { kind: 'base64'; mediaType: string; data: string } | { kind: 'url'; url: string }

export interface IRImage {
  type: 'image'
  source: IRImageSource
}

/** Reasoning. `signature` is opaque provider state that must be echoed back verbatim on the next turn
 *  (Anthropic thinking.signature, Gemini thoughtSignature). `redacted` = Anthropic redacted_thinking (data in `signature`). */
export interface IRThinking {
  type: 'thinking'
  text: string
  signature?: string
  redacted?: boolean
}

/** A model's call of a tool. `arguments` is the JSON text of the arguments object (may be '{}').
 *  `signature`: Gemini thoughtSignature attached to the functionCall part, if any. */
export interface IRToolCall {
  type: 'tool_call'
  id: string
  name: string
  arguments: string
  signature?: string
}

/** The result of a tool call, sent back by the client. */
export interface IRToolResult {
  type: 'tool_result'
  toolCallId: string
  /** name of the tool, when the client dialect carries it (Gemini needs it; recovered from history otherwise) */
  name?: string
  content: Array<IRText | IRImage>
  isError?: boolean
}

export type IRPart = IRText | IRImage | IRThinking | IRToolCall | IRToolResult

export interface IRMessage {
  /** 'user' messages carry text/image/tool_result parts; 'assistant' ones text/thinking/tool_call parts. */
  role: 'user' | 'assistant'
  content: IRPart[]
}

// ───────────── request ─────────────

export interface IRTool {
  name: string
  description?: string
  /** JSON Schema of the arguments object (as the client sent it; upstream encoders clean it as needed). */
  parameters: Record<string, unknown>
}

/** Built-in (non-function) tools a client asked for, e.g. Codex `web_search`. Encoders map what they can
 *  (Gemini: googleSearch) and drop the rest with a warning. */
export interface IRBuiltinTool {
  kind: string
  raw: unknown
}

export type IRToolChoice = 'auto' | 'none' | 'required' | { name: string }

export type IRResponseFormat = { type: 'text' } | { type: 'json' } | { type: 'json_schema'; schema: Record<string, unknown>; name?: string; strict?: boolean }

export interface IRReasoning {
  /** OpenAI-style effort */
  effort?: 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh'
  /** Anthropic budget_tokens / Gemini thinkingBudget */
  budgetTokens?: number
  /** whether the client wants to see the reasoning text */
  includeThoughts?: boolean
}

export interface IRRequest {
  /** model name as the client sent it (routing replaces it with the upstream model before encoding) */
  model: string
  /** system / developer instructions, in order */
  system: string[]
  messages: IRMessage[]
  tools?: IRTool[]
  builtinTools?: IRBuiltinTool[]
  toolChoice?: IRToolChoice
  parallelToolCalls?: boolean
  maxTokens?: number
  temperature?: number
  topP?: number
  topK?: number
  stop?: string[]
  responseFormat?: IRResponseFormat
  reasoning?: IRReasoning
  stream: boolean
  /** conversation / end-user hint for sticky key selection (OpenAI user, prompt_cache_key, Anthropic metadata.user_id) */
  user?: string
  /** number of choices (OpenAI n); only 1 is supported across dialects */
  n?: number
}

// ───────────── response ─────────────

export type IRStopReason = 'stop' | 'length' | 'tool_calls' | 'stop_sequence' | 'content_filter' | 'refusal' | 'pause' | 'error'

export interface IRUsage {
  inputTokens: number
  outputTokens: number
  /** input tokens served from a prompt cache (included in inputTokens) */
  cachedInputTokens?: number
  /** input tokens written to a prompt cache (Anthropic cache_creation_input_tokens; included in inputTokens) */
  cacheCreationInputTokens?: number
  /** reasoning tokens (included in outputTokens) */
  reasoningTokens?: number
}

export interface IRResponse {
  id: string
  model: string
  /** assistant output, in order: thinking, text, tool_call parts */
  content: Array<IRText | IRThinking | IRToolCall>
  stopReason: IRStopReason
  stopSequence?: string
  usage: IRUsage
}

// ───────────── stream events ─────────────
// Block-oriented, like Anthropic's stream: every block has an index (0, 1, 2, … in order of start).
// A decoder must emit: start, then for each block: block_start, deltas…, block_stop; then finish (or error).

export type IRBlockStart =
  | { type: 'text' }
  | { type: 'thinking' }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_call'; id: string; name: string }

export type IREvent =
  | { type: 'start'; id: string; model: string; usage?: Partial<IRUsage> }
  | { type: 'block_start'; index: number; block: IRBlockStart }
  | { type: 'text_delta'; index: number; text: string }
  | { type: 'thinking_delta'; index: number; text: string }
  /** opaque reasoning state for the block (thinking signature, or Gemini thoughtSignature of a tool_call/text) */
  | { type: 'signature'; index: number; signature: string }
  /** a fragment of a tool call's JSON arguments text */
  | { type: 'tool_args_delta'; index: number; json: string }
  | { type: 'block_stop'; index: number }
  | { type: 'finish'; reason: IRStopReason; stopSequence?: string; usage: IRUsage }
  /** an error after the stream started (encoders turn it into the dialect's in-stream error) */
  | { type: 'error'; error: IRError }

// ───────────── embeddings and token counting ─────────────

export interface IREmbeddingRequest {
  model: string
  input: string[]
  dimensions?: number
  user?: string
}
export interface IREmbeddingResponse {
  model: string
  embeddings: number[][]
  usage: { inputTokens: number }
}

/** Image generation or edit: a prompt, and for an edit the images to work from (base64). */
export interface IRImageRequest {
  model: string
  prompt: string
  n?: number
  /** `w:h` reduced, from an OpenAI `size` */
  aspectRatio?: string
  images?: Array<{ mimeType: string; data: string }>
}
export interface IRImageResponse {
  images: Array<{ mimeType: string; data: string }>
  /** any text the model gave with the images */
  text?: string
  usage: { inputTokens: number; outputTokens: number }
}

// ───────────── codec interfaces ─────────────

/** Context handed to codecs. */
export interface CodecContext {
  /** model name to show the client (what it asked for) */
  clientModel: string
  /** warnings collected while translating (dropped fields, unsupported tools…); logged once by the caller */
  warn(message: string): void
  /** the client's raw wire body, for encoders that need a request flag (e.g. OpenAI stream_options.include_usage) */
  raw?: unknown
  /** the client's query string (e.g. Gemini `alt=sse`) */
  query?: Record<string, string | undefined>
  /** the most characters one upstream SSE event may hold (limits.sse_event_mb); see parseSSE */
  sseEventMax?: number
  /** what codecs remember across requests: the app's own (src/state.ts); without one, a process-wide default (ir/signatures.ts) */
  memory?: CodecMemory
}

/** Signed thinking in front of a tool call (Anthropic), as remembered by the tool call's id. */
export interface SignedThinking {
  text: string
  signature: string
  redacted?: boolean
}

/** A stored Responses conversation, for `previous_response_id`. */
export interface StoredConversation {
  /** system text that came from input items (developer/system messages); `instructions` are not carried over */
  system: string[]
  /** the whole conversation, ending with the response's assistant output */
  messages: IRMessage[]
}

/** What codecs remember across requests, one per app (see ir/signatures.ts for who reads and writes what). */
export interface CodecMemory {
  /** Gemini functionCall thoughtSignatures by the tool call id handed out (chat tool calls and Responses call_ids alike) */
  toolSignatures: Lru<string>
  /** digests of thinking-block signatures Gemini produced */
  thoughtSignatures: Lru<true>
  /** Anthropic signed thinking in front of a tool call, by its id */
  thinking: Lru<SignedThinking[]>
  /** Responses: the last stored conversations, by response id */
  conversations: Lru<StoredConversation>
}

/** What agproxy speaks to a client of this dialect (one per inbound endpoint). */
export interface ClientCodec<Body = unknown> {
  /** wire request body (already schema-validated as an object) → IR. Throws `IRErrorValue` for semantic errors. */
  decodeRequest(body: Body, ctx: CodecContext): IRRequest
  /** IR response → wire JSON body */
  encodeResponse(res: IRResponse, ctx: CodecContext): unknown
  /** IR events → wire stream bytes (SSE or, for Gemini without alt=sse, a JSON array) */
  encodeStream(events: AsyncIterable<IREvent>, ctx: CodecContext): ReadableStream<Uint8Array>
  /** the same encoding, event by event and synchronously (a translated stream writes one batch of text per upstream chunk) */
  streamWriter?(ctx: CodecContext): StreamWriter
}

/** A client stream encoder as a state machine: the wire text of each event, in order. After a terminal event (finish,
 *  error) `done` is true and nothing more is written. */
export interface StreamWriter {
  /** the text `ev` adds to the stream ('' for none) */
  event(ev: IREvent): string
  /** the text that ends a stream whose source failed (`thrown`), or ended before a terminal event (nothing thrown) */
  broken(thrown?: unknown): string
  /** once done: what closes the stream after its last frame (Gemini's JSON array: its `]`), sent as a chunk of its own */
  closing?(): string
  readonly done: boolean
}

/** What agproxy speaks to an upstream provider of this type. */
export interface UpstreamCodec {
  /** IR → { path relative to the provider base URL, JSON body } */
  encodeRequest(req: IRRequest, ctx: CodecContext): { path: string; body: unknown }
  /** upstream JSON body → IR response */
  decodeResponse(body: unknown, ctx: CodecContext): IRResponse
  /** upstream stream body → IR events */
  decodeStream(body: ReadableStream<Uint8Array>, ctx: CodecContext): AsyncIterable<IREvent>
  /** the same events, one batch per upstream chunk (what arrived together is translated and written together) */
  decodeBatches?(body: ReadableStream<Uint8Array>, ctx: CodecContext): AsyncIterable<IREvent[]>
}

/** Wire JSON of the three dialects and of upstream error bodies, read field by field with optional chaining (any shape
 *  may arrive; every reader narrows what it uses). The one alias for it, so that `any` stands in one place. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type WireJson = Record<string, any>
