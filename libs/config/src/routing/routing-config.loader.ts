import { readFileSync } from 'node:fs';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { CaBundleError, loadCaBundle } from './ca-bundle';
import { deploymentPricing } from './deployment-pricing';
import { RoutingConfig, type AccountConfig } from './routing-config.schema';
import { parseServiceAccountKey } from './service-account-key';

type Path = Array<string | number>;

export interface ConfigFileProblem {
  /** `models[2].deployments[0].provider` */
  path: string;
  line: number | null;
  message: string;
}

/** A routing config file that cannot be used; the message names each offending path and its line. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigFileProblem[],
  ) {
    super(
      `Invalid routing config ${file}:\n` +
        problems.map((p) => `  - ${p.path || '(root)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigFileError';
  }
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** The `${…}` whose name starts at `pos` (just after `${`): its value and where it ends; null when it is none. */
function variableAt(value: string, pos: number, env: NodeJS.ProcessEnv): { text: string; end: number } | null {
  const name = NAME.exec(value.slice(pos))?.[0];
  if (!name) return null;
  let i = pos + name.length;
  let fallback: string | undefined;
  if (value.startsWith(':-', i)) {
    i += 2;
    fallback = '';
    while (i < value.length && value[i] !== '}') {
      const inner = value.startsWith('${', i) ? variableAt(value, i + 2, env) : null;
      if (inner) {
        fallback += inner.text;
        i = inner.end;
      } else {
        fallback += value[i++];
      }
    }
  }
  if (value[i] !== '}') return null;
  const found = env[name];
  return { text: found !== undefined && found !== '' ? found : (fallback ?? ''), end: i + 1 };
}

/**
 * `${VAR}` and `${VAR:-default}` in a string value; an unset variable without default becomes empty. A default may
 * hold variables of its own (`${MTS_BASE_URL:-https://…/projects/${MTS_PROJECT}/openai/v1}`); values taken from the
 * environment are never interpolated again.
 */
export function interpolate(value: string, env: NodeJS.ProcessEnv): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf('${', i);
    if (start === -1) return out + value.slice(i);
    out += value.slice(i, start);
    const variable = variableAt(value, start + 2, env);
    if (variable) {
      out += variable.text;
      i = variable.end;
    } else {
      out += '${';
      i = start + 2;
    }
  }
  return out;
}

function interpolateTree(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolateTree(item, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateTree(v, env)]));
  }
  return value;
}

export function formatPath(path: Path): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part),
    '',
  );
}

/** The line of the deepest node of `path` that exists in the document (the parent when the field is missing). */
function lineOf(doc: Document, counter: LineCounter, path: Path): number | null {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as Node | undefined;
    if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range) {
      return counter.linePos(node.range[0]).line;
    }
  }
  return null;
}

function flattenErrors(errors: ValidationError[], parent: Path = []): Array<{ path: Path; message: string }> {
  return errors.flatMap((error) => {
    const key = /^\d+$/.test(error.property) ? Number(error.property) : error.property;
    const path = [...parent, key];
    const own = Object.values(error.constraints ?? {}).map((message) => ({ path, message }));
    return [...own, ...flattenErrors(error.children ?? [], path)];
  });
}

/**
 * References between sections: deployments name existing providers/accounts and have a price; names and aliases are
 * unique.
 */
function crossCheck(config: RoutingConfig): Array<{ path: Path; message: string }> {
  const problems: Array<{ path: Path; message: string }> = [];
  const providers = new Map(config.providers.map((p) => [p.id, p]));
  config.providers.forEach((provider, i) => {
    if (config.providers.findIndex((p) => p.id === provider.id) !== i) {
      problems.push({ path: ['providers', i, 'id'], message: `duplicate provider id '${provider.id}'` });
    }
    const accountIds = provider.accounts.map((a) => a.id);
    provider.accounts.forEach((account, j) => {
      if (accountIds.indexOf(account.id) !== j) {
        problems.push({ path: ['providers', i, 'accounts', j, 'id'], message: `duplicate account id '${account.id}'` });
      }
    });
    if (provider.type === 'gigachat' && !provider.auth_url) {
      problems.push({ path: ['providers', i, 'auth_url'], message: 'a gigachat provider needs auth_url' });
    }
    if (provider.type === 'yandex' || (provider.type === 'openai' && provider.profile === 'yandex')) {
      provider.accounts.forEach((account, j) =>
        problems.push(...resolveServiceAccountKey(account, ['providers', i, 'accounts', j])),
      );
    }
  });
  const names = new Map<string, Path>();
  config.models.forEach((model, i) => {
    for (const [k, name] of [model.name, ...model.aliases].entries()) {
      const path: Path = k === 0 ? ['models', i, 'name'] : ['models', i, 'aliases', k - 1];
      if (names.has(name)) problems.push({ path, message: `model name or alias '${name}' is used twice` });
      names.set(name, path);
    }
    model.deployments.forEach((deployment, j) => {
      const provider = providers.get(deployment.provider);
      if (!provider) {
        problems.push({
          path: ['models', i, 'deployments', j, 'provider'],
          message: `unknown provider '${deployment.provider}'`,
        });
      } else if (deployment.account && !provider.accounts.some((a) => a.id === deployment.account)) {
        problems.push({
          path: ['models', i, 'deployments', j, 'account'],
          message: `provider '${provider.id}' has no account '${deployment.account}'`,
        });
      }
      if (deployment.free && deployment.pricing) {
        problems.push({
          path: ['models', i, 'deployments', j, 'free'],
          message: 'a deployment is either free or has pricing, not both',
        });
      } else if (provider && !deploymentPricing(provider, model, deployment)) {
        problems.push({
          path: ['models', i, 'deployments', j],
          message:
            `model '${model.name}': the deployment of provider '${provider.id}', upstream model '${deployment.model}', ` +
            `has no price: give it pricing (or free: true), give the model pricing, or list '${deployment.model}' ` +
            `in the provider's pricing`,
        });
      }
    });
  });
  return problems;
}

/**
 * A Yandex account's authorized key: the file named by `service_account_key_file` is read now (a start-up error names
 * it when it cannot be read) into `service_account_key`, and either form must parse. Messages never quote the key.
 */
function resolveServiceAccountKey(account: AccountConfig, path: Path): Array<{ path: Path; message: string }> {
  const file = account.service_account_key_file;
  if (file) {
    if (account.service_account_key) {
      return [
        {
          path: [...path, 'service_account_key'],
          message: 'give service_account_key or service_account_key_file, not both',
        },
      ];
    }
    try {
      account.service_account_key = readFileSync(file, 'utf8');
    } catch (error) {
      return [
        {
          path: [...path, 'service_account_key_file'],
          message: `cannot read the service-account key file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        },
      ];
    }
  }
  if (!account.service_account_key) return [];
  const parsed = parseServiceAccountKey(account.service_account_key);
  if (typeof parsed !== 'string') return [];
  return file
    ? [{ path: [...path, 'service_account_key_file'], message: `the service-account key file ${file} ${parsed}` }]
    : [{ path: [...path, 'service_account_key'], message: `the service-account key ${parsed}` }];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Model-level timeouts and retry inherit the file's defaults field by field. */
function applyDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  const defaults = (raw.defaults ?? {}) as Record<string, Record<string, unknown> | undefined>;
  if (!Array.isArray(raw.models)) return raw;
  const models = raw.models as unknown[];
  return {
    ...raw,
    models: models.map((model: unknown) => {
      if (!isPlainObject(model)) return model;
      // A model's breaker overrides the defaults field by field, and a deployment's overrides its model's.
      const breaker = isPlainObject(model.circuit_breaker)
        ? { ...defaults.circuit_breaker, ...model.circuit_breaker }
        : undefined;
      const deployments = Array.isArray(model.deployments)
        ? (model.deployments as unknown[]).map((deployment) =>
            isPlainObject(deployment) && isPlainObject(deployment.circuit_breaker)
              ? {
                  ...deployment,
                  circuit_breaker: { ...defaults.circuit_breaker, ...breaker, ...deployment.circuit_breaker },
                }
              : deployment,
          )
        : model.deployments;
      return {
        ...model,
        timeouts: { ...defaults.timeouts, ...(model.timeouts as object | undefined) },
        retry: { ...defaults.retry, ...(model.retry as object | undefined) },
        ...(breaker ? { circuit_breaker: breaker } : {}),
        deployments,
      };
    }),
  };
}

const CREDENTIAL_FIELDS = ['api_key', 'iam_token', 'auth_key', 'key_id', 'key_secret', 'service_account_key'] as const;

/** The `${VARS}` each account's credentials come from, so a rejected credential can be named by its variable. */
function recordCredentialVariables(config: RoutingConfig, raw: Record<string, unknown>): void {
  const rawProviders = Array.isArray(raw.providers) ? (raw.providers as unknown[]) : [];
  config.providers.forEach((provider, i) => {
    const rawProvider = rawProviders[i];
    const rawAccounts = isPlainObject(rawProvider) && Array.isArray(rawProvider.accounts) ? rawProvider.accounts : [];
    provider.accounts.forEach((account, j) => {
      const rawAccount: unknown = rawAccounts[j];
      if (!isPlainObject(rawAccount)) return;
      const names = CREDENTIAL_FIELDS.flatMap((field) => {
        const value = rawAccount[field];
        return typeof value === 'string' ? [...value.matchAll(VARIABLE)].map((m) => m[1]) : [];
      });
      if (names.length > 0) account.credential_vars = names;
    });
  });
}

/** Reads each provider's `ca_file` into `ca_certs` (PEM), so a missing or bad file stops the start-up (or reload). */
function loadCaFiles(config: RoutingConfig): Array<{ path: Path; message: string }> {
  const problems: Array<{ path: Path; message: string }> = [];
  config.providers.forEach((provider, i) => {
    if (!provider.ca_file) return;
    try {
      provider.ca_certs = loadCaBundle(provider.ca_file, provider.id);
    } catch (error) {
      if (!(error instanceof CaBundleError)) throw error;
      problems.push({ path: ['providers', i, 'ca_file'], message: error.message });
    }
  });
  return problems;
}

/** Parses, interpolates and validates a routing config text. Throws ConfigFileError naming every problem. */
export function parseRoutingConfig(text: string, file: string, env: NodeJS.ProcessEnv): RoutingConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      // The first few: after one syntax error the parser's later complaints are mostly echoes of it.
      doc.errors.slice(0, 3).map((e) => ({
        path: '',
        line: e.linePos?.[0].line ?? null,
        message: `YAML syntax: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    );
  }
  const raw: unknown = doc.toJS();
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigFileError(file, [
      { path: '', line: 1, message: 'the file must be a mapping with providers and models' },
    ]);
  }
  const plain = applyDefaults(interpolateTree(raw, env) as Record<string, unknown>);
  const config = plainToInstance(RoutingConfig, plain);
  let problems = flattenErrors(
    validateSync(config, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false }),
  );
  if (problems.length === 0) problems = crossCheck(config);
  if (problems.length === 0) problems = loadCaFiles(config);
  recordCredentialVariables(config, raw as Record<string, unknown>);
  if (problems.length > 0) {
    throw new ConfigFileError(
      file,
      problems.map((p) => ({ path: formatPath(p.path), line: lineOf(doc, counter, p.path), message: p.message })),
    );
  }
  return config;
}

export function loadRoutingConfig(file: string, env: NodeJS.ProcessEnv = process.env): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, [
      { path: '', line: null, message: `cannot read the file (${(error as Error).message})` },
    ]);
  }
  return parseRoutingConfig(text, file, env);
}
