/**
 * agproxy.yaml — the shape of the configuration, as a TypeBox schema (Elysia's `t`).
 * Keys are snake_case, as in the desktop tool users come from.
 */
import { t, type Static } from 'elysia'

const Key = t.Union([
  t.String({ minLength: 1 }),
  t.Object({ key: t.String({ minLength: 1 }), weight: t.Optional(t.Number({ minimum: 0 })), name: t.Optional(t.String()) }, { additionalProperties: false }),
])

const VertexAccount = t.Object(
  {
    credentials_file: t.Optional(t.String({ minLength: 1 })),
    credentials: t.Optional(t.Union([t.String({ minLength: 1 }), t.Record(t.String(), t.Unknown())])),
    project: t.Optional(t.String({ minLength: 1 })),
  },
  { additionalProperties: false },
)

export const ProviderConfig = t.Object(
  {
    name: t.String({ pattern: '^[a-z0-9_-]+$', description: 'unique, [a-z0-9_-]' }),
    type: t.Union([t.Literal('gemini'), t.Literal('openai'), t.Literal('anthropic'), t.Literal('azure'), t.Literal('vertex'), t.Literal('bedrock')]),
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
    /** vertex: the Google Cloud project (default: the service account's project_id) */
    project: t.Optional(t.String({ minLength: 1 })),
    /** vertex: the region (us-east5, europe-west1, …) or `global` (the default) */
    location: t.Optional(t.String({ pattern: '^[a-z0-9-]+$' })),
    /** vertex: a service-account JSON key or ADC file (default: GOOGLE_APPLICATION_CREDENTIALS, else gcloud's ADC file) */
    credentials_file: t.Optional(t.String({ minLength: 1 })),
    /** vertex: the service-account JSON itself (a string or an object) instead of a file */
    credentials: t.Optional(t.Union([t.String({ minLength: 1 }), t.Record(t.String(), t.Unknown())])),
    /** vertex: several service accounts or projects, pooled like keys (cooldowns per account and model) */
    accounts: t.Optional(t.Array(VertexAccount, { minItems: 1 })),
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

/** A client key's spending limit: USD per day, week (from Monday) or month, 00:00 UTC. */
export const Budget = t.Object(
  { usd: t.Number({ exclusiveMinimum: 0 }), period: t.Union([t.Literal('day'), t.Literal('week'), t.Literal('month')]) },
  { additionalProperties: false },
)

/** The limits a client key may carry (config and the admin API alike). */
export const ClientKeyLimits = {
  models: t.Optional(t.Array(t.String({ minLength: 1 }), { description: 'model globs it may call (absent: any)' })),
  rpm: t.Optional(t.Number({ multipleOf: 1, minimum: 1, description: 'requests per minute' })),
  tpm: t.Optional(t.Number({ multipleOf: 1, minimum: 1, description: 'tokens (input + output) per minute' })),
  max_parallel: t.Optional(t.Number({ multipleOf: 1, minimum: 1, description: 'requests at once' })),
  budget: t.Optional(Budget),
  expires: t.Optional(t.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}', description: 'an ISO 8601 date or time (UTC unless it says otherwise)' })),
  note: t.Optional(t.String()),
}

/** A client key's name: how usage, /metrics and the request log show it. */
export const CLIENT_KEY_NAME = '^[A-Za-z0-9_.@-]{1,64}$'

/** A client key with its own limits (client_keys:); `api_keys` are keys without limits. */
export const ClientKeyConfig = t.Object(
  { name: t.String({ pattern: CLIENT_KEY_NAME, description: '[A-Za-z0-9_.@-], unique' }), key: t.String({ minLength: 16 }), ...ClientKeyLimits },
  { additionalProperties: false },
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
    /** keys with their own limits (models, rpm, tpm, max_parallel, budget, expires); more are created at runtime (POST /admin/keys) */
    client_keys: t.Array(ClientKeyConfig),
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
    /** several instances: key cooldowns and disables, sticky sessions and limit counters shared through this Redis */
    redis_url: t.Optional(t.String({ pattern: '^(redis|rediss|valkey|valkeys)://', description: 'redis://[user:password@]host:port[/db]' })),
    /** several instances: the request log and usage in this PostgreSQL instead of data_dir/agproxy.db */
    database_url: t.Optional(t.String({ pattern: '^postgres(ql)?://', description: 'postgres://user:password@host:port/database' })),
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
export type ClientKeyConfig = Static<typeof ClientKeyConfig>

/** The wire a provider type speaks (azure: the openai wire on its own URLs; vertex: gemini or anthropic per model; bedrock: Converse, a wire of its own). */
export type WireType = Exclude<ProviderConfig['type'], 'azure' | 'vertex'>

/** The wire (dialect) of a provider type (vertex: gemini; its Claude models speak anthropic, see providers/vertex.ts). */
export const wireOf = (type: ProviderConfig['type']): WireType => (type === 'azure' ? 'openai' : type === 'vertex' ? 'gemini' : type)

export const DEFAULTS: Config = {
  port: 8045,
  allow_lan_access: false,
  auth_mode: 'auto',
  api_keys: [],
  client_keys: [],
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
