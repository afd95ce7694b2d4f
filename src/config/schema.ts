/**
 * agproxy.yaml — the shape of the configuration, as a TypeBox schema (Elysia's `t`).
 * Keys are snake_case, as in the desktop tool users come from.
 */
import { t, type Static } from 'elysia'

const Key = t.Union([
  t.String({ minLength: 1 }),
  t.Object({ key: t.String({ minLength: 1 }), weight: t.Optional(t.Number({ minimum: 0 })), name: t.Optional(t.String()) }, { additionalProperties: false }),
])

export const ProviderConfig = t.Object(
  {
    name: t.String({ pattern: '^[a-z0-9_-]+$', description: 'unique, [a-z0-9_-]' }),
    type: t.Union([t.Literal('gemini'), t.Literal('openai'), t.Literal('anthropic'), t.Literal('azure'), t.Literal('bedrock')]),
    base_url: t.Optional(t.String({ pattern: '^https?://' })),
    api_keys: t.Optional(t.Array(Key)),
    api_key: t.Optional(t.String()),
    models: t.Optional(t.Array(t.String())),
    headers: t.Optional(t.Record(t.String(), t.String())),
    strategy: t.Optional(t.Union([t.Literal('round_robin'), t.Literal('fill_first'), t.Literal('least_used')])),
    /** openai / azure: how /v1/responses is served — the upstream's own (native), translated to Chat Completions
     *  (chat), or native until the upstream answers 404/405 for it, then chat (auto, the default) */
    responses: t.Optional(t.Union([t.Literal('native'), t.Literal('chat'), t.Literal('auto')])),
    /** azure: the api-version query of the classic /openai/deployments/… paths (unused with a …/openai/v1 base_url) */
    api_version: t.Optional(t.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}(-preview)?$' })),
    /** azure: model → deployment name (a model with no entry is its own deployment name) */
    deployments: t.Optional(t.Record(t.String(), t.String({ minLength: 1 }))),
    /** azure: `api-key` header (default), or `entra`: a Microsoft Entra ID bearer token (api_keys, else AZURE_OPENAI_AD_TOKEN) */
    auth: t.Optional(t.Union([t.Literal('api-key'), t.Literal('entra')])),
    /** bedrock: the AWS region (default AWS_REGION, AWS_DEFAULT_REGION, else us-east-1) */
    region: t.Optional(t.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' })),
    /** bedrock: the profile of the shared credentials file (default AWS_PROFILE, else default) */
    profile: t.Optional(t.String({ minLength: 1 })),
  },
  { additionalProperties: false },
)

export const ModelTarget = t.Union([
  t.String({ minLength: 1 }),
  t.Object({ target: t.String({ minLength: 1 }), fallbacks: t.Optional(t.Array(t.String())) }, { additionalProperties: false }),
])

/** A model's price in USD per million tokens (cached input and reasoning default to input and output). */
export const Price = t.Object(
  {
    input: t.Number({ minimum: 0 }),
    output: t.Number({ minimum: 0 }),
    cached_input: t.Optional(t.Number({ minimum: 0 })),
    reasoning: t.Optional(t.Number({ minimum: 0 })),
  },
  { additionalProperties: false, description: 'USD per million tokens' },
)

export const AuthMode = t.Union([t.Literal('off'), t.Literal('strict'), t.Literal('all_except_health'), t.Literal('auto')])

export const ConfigSchema = t.Object(
  {
    port: t.Number({ multipleOf: 1, minimum: 0, maximum: 65535, default: 8045 }),
    host: t.Optional(t.String()),
    allow_lan_access: t.Boolean({ default: false }),
    auth_mode: AuthMode,
    api_keys: t.Array(t.String({ minLength: 1 })),
    api_key: t.Optional(t.String()),
    tolerant_paths: t.Boolean({ default: true }),
    cors_origins: t.Array(t.String()),
    providers: t.Array(ProviderConfig),
    models: t.Record(t.String(), ModelTarget),
    data_dir: t.Optional(t.String()),
    max_body_mb: t.Number({ exclusiveMinimum: 0, default: 100 }),
    retry: t.Object(
      {
        max_attempts: t.Number({ multipleOf: 1, minimum: 1, default: 3 }),
        max_wait: t.Number({ minimum: 0, default: 30, description: 'seconds' }),
        /** the longest a key rests after a rate limit or a spent quota, whatever the upstream asked for */
        max_cooldown: t.Number({ exclusiveMinimum: 0, default: 3600, description: 'seconds' }),
      },
      { additionalProperties: false },
    ),
    timeouts: t.Object(
      {
        connect: t.Number({ exclusiveMinimum: 0, default: 10 }),
        first_token: t.Number({ exclusiveMinimum: 0, default: 120 }),
        idle: t.Number({ exclusiveMinimum: 0, default: 120 }),
        total: t.Number({ exclusiveMinimum: 0, default: 1800 }),
        /** a client's request body must arrive within this (slow-loris guard) */
        request_body: t.Number({ exclusiveMinimum: 0, default: 60 }),
      },
      { additionalProperties: false, description: 'seconds' },
    ),
    /** memory bounds on what upstreams and clients send */
    limits: t.Object(
      {
        /** an upstream's non-streamed answer, once decompressed */
        upstream_body_mb: t.Number({ exclusiveMinimum: 0, default: 64 }),
        /** one SSE event (or unterminated line) of a translated upstream stream */
        sse_event_mb: t.Number({ exclusiveMinimum: 0, default: 16 }),
        /** request bodies held at once (read, parsed and waiting on their dispatch) across all requests */
        request_bodies_mb: t.Number({ exclusiveMinimum: 0, default: 512 }),
      },
      { additionalProperties: false, description: 'MB' },
    ),
    shutdown_grace: t.Number({ minimum: 0, default: 30, description: 'seconds' }),
    /** the request log and usage database (data_dir/agproxy.db); false = no database at all */
    request_log: t.Boolean({ default: true }),
    /** keep request and response bodies in the request log (keys redacted, capped per body) */
    log_bodies: t.Boolean({ default: false }),
    /** request-log rows older than `days`, or beyond `max_mb` of database (oldest first), are deleted; usage totals stay */
    log_retention: t.Object(
      {
        days: t.Number({ exclusiveMinimum: 0, default: 30 }),
        max_mb: t.Number({ exclusiveMinimum: 0, default: 500 }),
      },
      { additionalProperties: false },
    ),
    /** the key of /admin/* (never a client key); generated into data_dir/admin_key when not set */
    admin_key: t.Optional(t.String({ minLength: 16, description: 'at least 16 characters' })),
    /** USD per million tokens, by model name or glob (`my-model-*`); wins over the bundled price table */
    prices: t.Record(t.String({ minLength: 1 }), Price),
    log_level: t.Union([t.Literal('debug'), t.Literal('info'), t.Literal('warn'), t.Literal('error')]),
    /** how log lines are written: text for people, json (one object per line) for log shippers */
    log_format: t.Union([t.Literal('text'), t.Literal('json')]),
    /** one line per request at info (false: none) */
    access_log: t.Boolean({ default: true }),
    /** GET /metrics (Prometheus text format) */
    metrics: t.Object(
      {
        /** answer /metrics without a key even when auth is on (for a scraper on a trusted network) */
        public: t.Boolean({ default: false }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export type Config = Static<typeof ConfigSchema>
export type ProviderConfig = Static<typeof ProviderConfig>
export type AuthMode = Static<typeof AuthMode>
export type Price = Static<typeof Price>

/** The wire a provider type speaks (azure: the openai wire on its own URLs; bedrock: Converse, a wire of its own). */
export type WireType = Exclude<ProviderConfig['type'], 'azure'>

/** The wire (dialect) of a provider type. */
export const wireOf = (type: ProviderConfig['type']): WireType => (type === 'azure' ? 'openai' : type)

export const DEFAULTS: Config = {
  port: 8045,
  allow_lan_access: false,
  auth_mode: 'auto',
  api_keys: [],
  tolerant_paths: true,
  cors_origins: [],
  providers: [],
  models: {},
  max_body_mb: 100,
  retry: { max_attempts: 3, max_wait: 30, max_cooldown: 3600 },
  timeouts: { connect: 10, first_token: 120, idle: 120, total: 1800, request_body: 60 },
  limits: { upstream_body_mb: 64, sse_event_mb: 16, request_bodies_mb: 512 },
  shutdown_grace: 30,
  request_log: true,
  log_bodies: false,
  log_retention: { days: 30, max_mb: 500 },
  prices: {},
  log_level: 'info',
  log_format: 'text',
  access_log: true,
  metrics: { public: false },
}
