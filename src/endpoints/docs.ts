/**
 * What /swagger says about each inbound API, next to the descriptors (keyed by endpoint id, so an endpoint without its
 * docs does not compile): a description, a request example that works as sent, and the answer's schema as JSON and as a
 * stream. `operationDocs` turns one into the OpenAPI operation fields; the routes and src/http/docs.ts read it.
 */
import { t, type TSchema } from 'elysia'
import { Type } from '@sinclair/typebox'
import type { Dialect } from '../ir/types'
import type { Endpoint, EndpointId } from './index'

export interface EndpointDocs {
  description: string
  /** a request body that works as sent (the model routes under the zero-config globs) */
  example: Record<string, unknown>
  /** the JSON answer */
  response: TSchema
  /** the streamed answer: one example of its events (text/event-stream, or Gemini's JSON array without alt=sse) */
  stream?: string
}

const open = { additionalProperties: true } as const

/** An integer as documented (Elysia's `t.Integer` also accepts numeric strings, which the docs would show as strings). */
export const Int = (options?: { description?: string }) => Type.Integer(options)

/** Each endpoint's docs (response schemas built with them): built when /swagger is first built, not at start. */
function buildEndpointDocs(): Record<EndpointId, EndpointDocs> {
  const Usage = t.Object({ prompt_tokens: Int(), completion_tokens: Int(), total_tokens: Int() }, open)

  const ChatCompletion = t.Object(
    {
      id: t.String(),
      object: t.Literal('chat.completion'),
      created: Int(),
      model: t.String(),
      choices: t.Array(
        t.Object(
          {
            index: Int(),
            message: t.Object(
              { role: t.Literal('assistant'), content: t.Union([t.String(), t.Null()]), tool_calls: t.Optional(t.Array(t.Object({}, open))) },
              open,
            ),
            finish_reason: t.Union([t.String({ description: 'stop | length | tool_calls | content_filter' }), t.Null()]),
          },
          open,
        ),
      ),
      usage: t.Optional(Usage),
    },
    open,
  )

  const TextCompletion = t.Object(
    {
      id: t.String(),
      object: t.Literal('text_completion'),
      created: Int(),
      model: t.String(),
      choices: t.Array(t.Object({ index: Int(), text: t.String(), finish_reason: t.Union([t.String(), t.Null()]) }, open)),
      usage: t.Optional(Usage),
    },
    open,
  )

  const ResponseObject = t.Object(
    {
      id: t.String(),
      object: t.Literal('response'),
      created_at: Int(),
      status: t.String({ description: 'completed | incomplete | failed' }),
      model: t.String(),
      output: t.Array(t.Object({ type: t.String({ description: 'message | reasoning | function_call' }) }, open)),
      output_text: t.Optional(t.String()),
      usage: t.Optional(t.Object({ input_tokens: Int(), output_tokens: Int(), total_tokens: Int() }, open)),
    },
    open,
  )

  const ImagesResponse = t.Object(
    {
      created: Int(),
      data: t.Array(t.Object({ b64_json: t.Optional(t.String()), url: t.Optional(t.String()), revised_prompt: t.Optional(t.String()) }, open)),
      usage: t.Optional(t.Object({ input_tokens: Int(), output_tokens: Int(), total_tokens: Int() }, open)),
    },
    open,
  )

  const Embedding = t.Object({ values: t.Array(t.Number()) }, open)

  const EmbeddingList = t.Object(
    {
      object: t.Literal('list'),
      data: t.Array(t.Object({ object: t.Literal('embedding'), index: Int(), embedding: t.Union([t.Array(t.Number()), t.String()]) }, open)),
      model: t.String(),
      usage: t.Optional(t.Object({ prompt_tokens: Int(), total_tokens: Int() }, open)),
    },
    open,
  )

  const AnthropicMessage = t.Object(
    {
      id: t.String(),
      type: t.Literal('message'),
      role: t.Literal('assistant'),
      model: t.String(),
      content: t.Array(t.Object({ type: t.String({ description: 'text | thinking | tool_use' }) }, open)),
      stop_reason: t.Union([t.String({ description: 'end_turn | max_tokens | stop_sequence | tool_use' }), t.Null()]),
      usage: t.Object({ input_tokens: Int(), output_tokens: Int() }, open),
    },
    open,
  )

  const GenerateContentResponse = t.Object(
    {
      candidates: t.Array(
        t.Object({ content: t.Object({ role: t.String(), parts: t.Array(t.Object({}, open)) }, open), finishReason: t.Optional(t.String()) }, open),
      ),
      usageMetadata: t.Optional(t.Object({ promptTokenCount: Int(), candidatesTokenCount: Int(), totalTokenCount: Int() }, open)),
      modelVersion: t.Optional(t.String()),
    },
    open,
  )

  const sse = (events: Array<[string | undefined, unknown]>) =>
    events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('')

  const HELLO = 'Say hello in one short sentence.'

  return {
    'openai.chat': {
      description:
        'The OpenAI Chat Completions API. `model` is routed by agproxy (`models:` aliases and globs, `provider/model`, or the provider that lists it) ' +
        'to any provider type: an OpenAI-type provider gets the request as sent, the others a translation. With `"stream": true` the answer is ' +
        'Server-Sent Events ending with `data: [DONE]`.',
      example: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: HELLO }], max_tokens: 64 },
      response: ChatCompletion,
      stream: sse([
        [
          undefined,
          { id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' } }] },
        ],
        [undefined, { id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }],
        [undefined, '[DONE]'],
      ]),
    },
    'openai.completions': {
      description:
        'The legacy OpenAI Completions API (a `prompt`, no messages), for clients that still use it. Streams as Server-Sent Events with `"stream": true`.',
      example: { model: 'gpt-4o-mini', prompt: HELLO, max_tokens: 64 },
      response: TextCompletion,
      stream: sse([
        [undefined, { id: 'cmpl-1', object: 'text_completion', model: 'gpt-4o-mini', choices: [{ index: 0, text: 'Hello', finish_reason: null }] }],
        [undefined, '[DONE]'],
      ]),
    },
    'openai.responses': {
      description:
        'The OpenAI Responses API (what Codex CLI speaks). `previous_response_id` works across providers: agproxy keeps the conversation. With ' +
        '`"stream": true` the answer is typed Server-Sent Events (`response.created` … `response.completed`).',
      example: { model: 'gpt-4o-mini', input: HELLO, max_output_tokens: 64 },
      response: ResponseObject,
      stream: sse([
        ['response.created', { type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } }],
        ['response.output_text.delta', { type: 'response.output_text.delta', delta: 'Hello' }],
        ['response.completed', { type: 'response.completed', response: { id: 'resp_1', status: 'completed' } }],
      ]),
    },
    'openai.responses_compact': {
      description:
        'Codex remote compaction: the conversation so far (`input`, `instructions`) in, the compacted items out (`{"output": [...]}`). Served by ' +
        'OpenAI-compatible providers as sent; an Anthropic or Gemini model writes a summary instead, answered as the user messages followed by the ' +
        'summary (a user message).',
      example: { model: 'gpt-4o-mini', input: HELLO, instructions: 'You are a coding agent.' },
      response: t.Object({ output: t.Array(t.Object({ type: t.String() }, open)) }, open),
    },
    'openai.responses_input_tokens': {
      description:
        'The input token count of a Responses request. OpenAI-compatible providers count it themselves; Anthropic and Gemini providers through their ' +
        'count-tokens APIs.',
      example: { model: 'gpt-4o-mini', input: HELLO },
      response: t.Object({ object: t.Literal('response.input_tokens'), input_tokens: Int() }, open),
    },
    'openai.embeddings': {
      description: 'The OpenAI Embeddings API; a Gemini provider serves it through its embedContent API.',
      example: { model: 'text-embedding-3-small', input: 'agproxy' },
      response: EmbeddingList,
    },
    'openai.images': {
      description:
        'The OpenAI Images API (`images.generate`). OpenAI-compatible providers get it as sent (`"stream": true` relays their events); a Gemini image ' +
        'model (e.g. gemini-2.5-flash-image) serves it through generateContent with image output: `b64_json`, or with `response_format: "url"` a data: URL.',
      example: { model: 'gpt-image-1', prompt: 'A watercolor fox', size: '1024x1024' },
      response: ImagesResponse,
    },
    'openai.image_edits': {
      description:
        'The OpenAI image edit API (`images.edit`): multipart/form-data with `image` (or `image[]`) files, `prompt` and `model`. OpenAI-compatible ' +
        'providers get the form as sent (only `model` rewritten); a Gemini image model gets the images and prompt through generateContent.',
      example: { model: 'gpt-image-1', prompt: 'Add a red hat' },
      response: ImagesResponse,
    },
    'openai.transcriptions': {
      description:
        'The OpenAI audio transcription API (`audio.transcriptions.create`): multipart/form-data with the audio `file` and `model`. OpenAI-compatible ' +
        'providers get the form as sent (only `model` rewritten); `response_format` text, srt and vtt come back as text, `stream=true` as events.',
      example: { model: 'whisper-1', response_format: 'json' },
      response: t.Object({ text: t.String() }, open),
      stream: sse([
        [undefined, { type: 'transcript.text.delta', delta: 'Hello' }],
        [undefined, { type: 'transcript.text.done', text: 'Hello' }],
      ]),
    },
    'anthropic.messages': {
      description:
        'The Anthropic Messages API (what Claude Code speaks). Set the client base URL to the origin (no /v1). With `"stream": true` the answer is ' +
        'typed Server-Sent Events (`message_start` … `message_stop`).',
      example: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: HELLO }] },
      response: AnthropicMessage,
      stream: sse([
        ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } }],
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }],
        ['message_stop', { type: 'message_stop' }],
      ]),
    },
    'anthropic.count_tokens': {
      description: 'Count the input tokens of a Messages request (the upstream counts when it can; otherwise an estimate).',
      example: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: HELLO }] },
      response: t.Object({ input_tokens: Int() }, open),
    },
    'gemini.generate': {
      description: 'The Gemini generateContent API (Google GenAI SDK, Gemini CLI). The model is in the path; set the client base URL to the origin.',
      example: { contents: [{ role: 'user', parts: [{ text: HELLO }] }], generationConfig: { maxOutputTokens: 64 } },
      response: GenerateContentResponse,
    },
    'gemini.stream': {
      description: 'The Gemini streamGenerateContent API: Server-Sent Events with `?alt=sse` (what the SDKs send), otherwise one streamed JSON array.',
      example: { contents: [{ role: 'user', parts: [{ text: HELLO }] }], generationConfig: { maxOutputTokens: 64 } },
      response: GenerateContentResponse,
      stream: sse([[undefined, { candidates: [{ content: { role: 'model', parts: [{ text: 'Hello' }] }, finishReason: 'STOP' }] }]]),
    },
    'gemini.count_tokens': {
      description: 'Count the tokens of a generateContent request.',
      example: { contents: [{ role: 'user', parts: [{ text: HELLO }] }] },
      response: t.Object({ totalTokens: Int() }, open),
    },
    'gemini.embed': {
      description:
        'The Gemini embedContent API: one embedding. A Gemini provider gets it as sent; an OpenAI-compatible provider serves it through its ' +
        '/embeddings (text parts only).',
      example: { content: { parts: [{ text: 'agproxy' }] } },
      response: t.Object({ embedding: Embedding }, open),
    },
    'gemini.batch_embed': {
      description:
        'The Gemini batchEmbedContents API (what the Google GenAI SDK’s models.embedContent sends): one embedding per request. A Gemini provider gets it ' +
        'as sent (each request’s model set to the routed one); an OpenAI-compatible provider serves it through its /embeddings.',
      example: { requests: [{ content: { parts: [{ text: 'agproxy' }] } }] },
      response: t.Object({ embeddings: t.Array(Embedding) }, open),
    },
  }
}

let endpointDocs: Record<EndpointId, EndpointDocs> | undefined
/** One endpoint's docs (all of them built at the first call). */
export const docsOf = (id: EndpointId): EndpointDocs => (endpointDocs ??= buildEndpointDocs())[id]

/** Each dialect's error body, as every error reaching its clients is shaped (src/http/errors.ts renders them). */
const buildErrorSchemas = (): Record<Dialect, TSchema> => ({
  openai: t.Object({
    error: t.Object({ message: t.String(), type: t.String(), param: t.Union([t.String(), t.Null()]), code: t.Union([t.String(), t.Null()]) }),
  }),
  anthropic: t.Object({ type: t.Literal('error'), error: t.Object({ type: t.String(), message: t.String() }) }),
  gemini: t.Object({ error: t.Object({ code: Int(), message: t.String(), status: t.String() }) }),
})
let errorSchemas: Record<Dialect, TSchema> | undefined

/** The error answer of an operation in `dialect`: any 4xx or 5xx, in that dialect's shape (its schema built when /swagger
 *  is: `content` is a getter). */
export const errorResponse = (dialect: Dialect) => ({
  description: 'An error in this dialect’s shape: what is at fault and how to fix it (401 without a valid key, 404 unknown model, 429/5xx upstream).',
  get content() {
    return { 'application/json': { schema: (errorSchemas ??= buildErrorSchemas())[dialect] } }
  },
})

/** An OpenAPI answer with a JSON body of `schema`. */
export const jsonResponse = (description: string, schema: TSchema) => ({ description, content: { 'application/json': { schema } } })

/** The OpenAPI fields of an endpoint's operation (with `fields`, e.g. its tags and summary): description, request body with
 *  its example, JSON and stream answers. They are getters, read when /swagger is built (the docs and the body schema are
 *  built at their first use, src/dialects/endpoint.ts), so copy the result only then. */
export function operationDocs<T extends object>(e: Endpoint, fields?: T) {
  return Object.assign(
    {
      get description() {
        return docsOf(e.id).description
      },
      get requestBody() {
        const d = docsOf(e.id)
        return { required: true, content: { [e.multipart ? 'multipart/form-data' : 'application/json']: { schema: e.schema(), example: d.example } } }
      },
      get responses() {
        const d = docsOf(e.id)
        const ok: Record<string, { schema: object; example?: string }> = { 'application/json': { schema: d.response } }
        if (d.stream) ok['text/event-stream'] = { schema: { type: 'string', description: 'Server-Sent Events' }, example: d.stream }
        return {
          200: { description: d.stream ? 'The answer: JSON, or a stream when asked for one' : 'The answer', content: ok },
          default: errorResponse(e.dialect),
        }
      },
    },
    fields,
  )
}
