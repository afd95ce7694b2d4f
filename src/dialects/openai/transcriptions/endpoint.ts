/**
 * POST /v1/audio/transcriptions (multipart: `file`, `model`, …), as an endpoint descriptor: OpenAI providers get the
 * form as sent; `stream=true` relays its SSE (`transcript.text.delta` … `transcript.text.done`); a text, srt or vtt
 * answer comes back with its own content type. No other provider type transcribes.
 */
import { t } from 'elysia'
import { SSE, type EndpointDescriptor } from '../../endpoint'
import { anyReader } from '../../frames'
import { openaiErrorFrame } from '../sse'

export const TranscriptionFields = t.Object(
  {
    model: t.String(),
    language: t.Optional(t.String()),
    prompt: t.Optional(t.String()),
    response_format: t.Optional(t.String({ description: 'json | text | srt | verbose_json | vtt' })),
    temperature: t.Optional(t.String()),
    stream: t.Optional(t.String()),
  },
  { additionalProperties: true, description: 'OpenAI audio transcription request (multipart/form-data; `file` is the audio)' },
)

export const transcriptionsEndpoint: EndpointDescriptor = {
  id: 'openai.transcriptions',
  dialect: 'openai',
  tag: 'OpenAI',
  summary: 'Transcribe audio (multipart)',
  route: { paths: ['/v1/audio/transcriptions'] },
  schema: () => TranscriptionFields,
  multipart: true,
  streams: b => b.stream === 'true',
  passThrough: { path: () => '/audio/transcriptions', keepsBytes: false },
  streamContentType: () => SSE,
  frames: () => anyReader,
  errorFrame: () => openaiErrorFrame,
}
