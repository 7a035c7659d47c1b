import type { ChatCompletionRequest, EmbeddingRequest } from '@xrouter/common';
import { CAPABILITY_NAMES, type CapabilitiesConfig, type CapabilityName, type ProviderConfig } from '@xrouter/config';

/**
 * What each provider can do with an OpenAI request, and what a request asks of it: pure data and pure functions.
 * The router serves a request only from deployments that can honour every feature it uses (`fitRequest`); a feature
 * none of them has is a 400 naming the field, unless `drop_params` says to serve the request without it — and the
 * answer then says what was dropped. Nothing is dropped silently.
 */
export type Capabilities = Readonly<Record<CapabilityName, boolean>>;

const NONE: Capabilities = Object.fromEntries(CAPABILITY_NAMES.map((name) => [name, false])) as Record<
  CapabilityName,
  boolean
>;
const ALL: Capabilities = Object.fromEntries(CAPABILITY_NAMES.map((name) => [name, true])) as Record<
  CapabilityName,
  boolean
>;

/**
 * GigaChat v1 (docs/provider-protocols.md §2.5, the recordings): functions (one call per turn), native
 * `response_format` json_schema, `reasoning_effort`, images as uploaded files, `top_p`. No `stop`, no OpenAI
 * penalties (its `repetition_penalty` is another knob, passed through as an extension), no seed, logprobs, n or
 * logit_bias; embeddings have one fixed size. `json_object` is not known to work: refused until it is.
 */
const GIGACHAT: Capabilities = { ...NONE, tools: true, json_schema: true, reasoning: true, images: true, top_p: true };

/**
 * YandexGPT's native Foundation Models API (§3.4, the recordings): tools with parallel calls, `jsonSchema` and
 * `jsonObject`, reasoning options. No `top_p`, `stop`, penalties, seed, logprobs, n or logit_bias, no image input;
 * the size of text embeddings is not declared working.
 */
const YANDEX: Capabilities = {
  ...NONE,
  tools: true,
  parallel_tool_calls: true,
  json_schema: true,
  json_object: true,
  reasoning: true,
};

/**
 * OpenAI-compatible hosts pass the request through, so everything is assumed to work except what a profile knows a
 * host lacks (an upstream that refuses a field answers 400 itself: not silent). Yandex's OpenAI-compatible endpoint
 * (§3.10): images only on some models (Gemma 3: declare `capabilities: {images: true}` on that deployment), no
 * logprobs, n or embedding sizes known to work.
 */
const OPENAI_PROFILE_GAPS: Readonly<Record<string, Partial<Capabilities>>> = {
  generic: {},
  mts: {},
  tbank: {},
  yandex: { images: false, logprobs: false, n: false, dimensions: false },
};

/** What a provider's deployments can do: its type's (and profile's) table, then the provider's own overrides. */
export function providerCapabilities(provider: ProviderConfig): Capabilities {
  return withOverrides(baseCapabilities(provider), provider.capabilities);
}

/** A deployment's capabilities: its provider's, then the deployment's own overrides. */
export function deploymentCapabilities(provider: ProviderConfig, overrides?: CapabilitiesConfig): Capabilities {
  return withOverrides(providerCapabilities(provider), overrides);
}

function baseCapabilities(provider: ProviderConfig): Capabilities {
  switch (provider.type) {
    case 'gigachat':
      return GIGACHAT;
    case 'yandex':
      return YANDEX;
    case 'openai':
      return { ...ALL, ...OPENAI_PROFILE_GAPS[provider.profile ?? 'generic'] };
  }
}

function withOverrides(base: Capabilities, overrides: CapabilitiesConfig | undefined): Capabilities {
  if (!overrides) return base;
  const out: Record<CapabilityName, boolean> = { ...base };
  for (const name of CAPABILITY_NAMES) {
    const value = overrides[name];
    if (typeof value === 'boolean') out[name] = value;
  }
  return out;
}

/** One thing a request asks for beyond plain text: the capability it needs and the field that asks. */
export interface Feature {
  capability: CapabilityName;
  /** The request field that asks (`logprobs`, `messages[1].content[0]`): the `param` of the 400. */
  param: string;
  /** The top-level fields removed when the feature is dropped; empty: it cannot be (an image inside a message). */
  fields: readonly string[];
}

/** How a capability reads in a message. */
const LABELS: Record<CapabilityName, string> = {
  tools: 'tool calling',
  parallel_tool_calls: 'parallel tool calls',
  json_schema: 'JSON schema output',
  json_object: 'JSON object output',
  images: 'image input',
  logprobs: 'log probabilities',
  n: 'several choices (n > 1)',
  seed: 'seed',
  stop: 'stop sequences',
  penalties: 'presence and frequency penalties',
  top_p: 'top_p',
  logit_bias: 'logit_bias',
  reasoning: 'reasoning_effort',
  dimensions: 'a chosen embedding size (dimensions)',
};

export function capabilityLabel(capability: CapabilityName): string {
  return LABELS[capability];
}

const isSet = (value: unknown): boolean => value !== undefined && value !== null;

/**
 * What a chat request asks for, in field order. A field at its neutral value asks for nothing (`logprobs: false`,
 * `n: 1`, `top_p: 1`, penalties 0, `stop: []`, `response_format: {type: "text"}`, `reasoning_effort: "none"`):
 * some clients send those by default. `parallel_tool_calls` asks for nothing either: `true` permits several calls
 * (a model that makes one per turn honours it), `false` forbids them (which such a model honours too).
 */
export function chatFeatures(request: ChatCompletionRequest): Feature[] {
  const features: Feature[] = [];
  const add = (capability: CapabilityName, param: string, fields: readonly string[] = [param]) =>
    features.push({ capability, param, fields });
  if (Array.isArray(request.tools) && request.tools.length > 0) {
    add('tools', 'tools', ['tools', 'tool_choice', 'parallel_tool_calls']);
  }
  const format = request.response_format?.type;
  if (format === 'json_schema') add('json_schema', 'response_format');
  if (format === 'json_object') add('json_object', 'response_format');
  request.messages.forEach((message, i) => {
    if (!Array.isArray(message.content)) return;
    message.content.forEach((part, j) => {
      if (part.type === 'image_url' || part.type === 'input_image') add('images', `messages[${i}].content[${j}]`, []);
    });
  });
  if (request.logprobs === true) add('logprobs', 'logprobs', ['logprobs', 'top_logprobs']);
  else if (typeof request.top_logprobs === 'number' && request.top_logprobs > 0) add('logprobs', 'top_logprobs');
  if (typeof request.n === 'number' && request.n > 1) add('n', 'n');
  if (isSet(request.seed)) add('seed', 'seed');
  const stop = request.stop;
  if ((typeof stop === 'string' && stop !== '') || (Array.isArray(stop) && stop.length > 0)) add('stop', 'stop');
  for (const field of ['presence_penalty', 'frequency_penalty'] as const) {
    if (typeof request[field] === 'number' && request[field] !== 0) add('penalties', field);
  }
  if (typeof request.top_p === 'number' && request.top_p !== 1) add('top_p', 'top_p');
  const bias = request.logit_bias;
  if (typeof bias === 'object' && bias !== null && Object.keys(bias).length > 0) add('logit_bias', 'logit_bias');
  if (typeof request.reasoning_effort === 'string' && request.reasoning_effort !== 'none') {
    add('reasoning', 'reasoning_effort');
  }
  return features;
}

/** What an embeddings request asks for. */
export function embeddingFeatures(request: EmbeddingRequest): Feature[] {
  return isSet(request.dimensions) ? [{ capability: 'dimensions', param: 'dimensions', fields: ['dimensions'] }] : [];
}

/** Whether one deployment can serve a request: the fields to drop first, or the first feature it lacks. */
export type Fit = { ok: true; dropped: string[] } | { ok: false; missing: Feature };

/**
 * Checks a request's features against a deployment. A feature it lacks is dropped when `dropParams` names its field
 * or its capability, else the deployment cannot serve the request. Fields `dropParams` names are dropped whenever the
 * request sets them (a host that rejects a field), capable or not. `present`: whether the request sets a field.
 */
export function fitRequest(
  features: readonly Feature[],
  capabilities: Capabilities,
  dropParams: readonly string[],
  present: (field: string) => boolean,
): Fit {
  const dropped = new Set(dropParams.filter(present));
  for (const feature of features) {
    if (capabilities[feature.capability]) continue;
    const droppable =
      feature.fields.length > 0 && (dropParams.includes(feature.param) || dropParams.includes(feature.capability));
    if (!droppable) return { ok: false, missing: feature };
    for (const field of feature.fields) if (present(field)) dropped.add(field);
  }
  return { ok: true, dropped: [...dropped] };
}

/** The request without the dropped fields (a copy; the client's own is untouched). */
export function withoutFields<R extends object>(request: R, fields: readonly string[]): R {
  if (fields.length === 0) return request;
  const copy: Record<string, unknown> = { ...(request as Record<string, unknown>) };
  for (const field of fields) delete copy[field];
  return copy as R;
}
