/**
 * A deterministic JSON value valid against a JSON Schema, for emulators that honour structured output
 * (`response_format` json_schema): what a model constrained by the schema could answer, so a client's parse succeeds.
 *
 * Covers what OpenAI- and Pydantic-made schemas use: `type` (also as a list), `properties`/`required`,
 * `additionalProperties`, `enum`, `const`, `default`, `anyOf`/`oneOf` (the first branch), `allOf` (object branches
 * merged), `$ref` into `#/$defs` or `#/definitions`, `items`/`prefixItems`/`minItems`, string `minLength`/`maxLength`/
 * `format` (date, date-time, email, uuid, uri), number `minimum`/`maximum`/exclusive bounds/`multipleOf`.
 * Every property of an object is filled (required or not), so the answer shows the whole shape.
 */

type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deepest `$ref` chain followed before giving up (a recursive schema gets its minimal value there). */
const MAX_DEPTH = 12;

export function instanceOf(schema: unknown, seedText = 'ok'): unknown {
  const root = isSchema(schema) ? schema : {};
  return build(root, root, seedText, 0);
}

function resolve(root: Schema, ref: string): Schema {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match) return {};
  const defs = root[match[1]];
  const found = isSchema(defs) ? defs[decodeURIComponent(match[2])] : undefined;
  return isSchema(found) ? found : {};
}

function build(schema: Schema, root: Schema, seed: string, depth: number): unknown {
  if (typeof schema.$ref === 'string') {
    return depth >= MAX_DEPTH ? null : build(resolve(root, schema.$ref), root, seed, depth + 1);
  }
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0] as unknown;
  if ('default' in schema) return schema.default;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches: unknown = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const nonNull: unknown = branches.find((b) => isSchema(b) && b.type !== 'null') ?? branches[0];
      return build(isSchema(nonNull) ? nonNull : {}, root, seed, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf)) {
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of schema.allOf as unknown[]) {
      const branch: unknown = isSchema(part) && typeof part.$ref === 'string' ? resolve(root, part.$ref) : part;
      if (!isSchema(branch)) continue;
      Object.assign(merged.properties as Schema, isSchema(branch.properties) ? branch.properties : {});
    }
    return build(merged, root, seed, depth + 1);
  }
  const type = typeOf(schema);
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const properties = isSchema(schema.properties) ? schema.properties : {};
      for (const [name, sub] of Object.entries(properties)) {
        out[name] = build(isSchema(sub) ? sub : {}, root, seed, depth + 1);
      }
      return out;
    }
    case 'array': {
      const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
      const items = prefix.map((sub) => build(isSchema(sub) ? sub : {}, root, seed, depth + 1));
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const itemSchema = isSchema(schema.items) ? schema.items : undefined;
      while (itemSchema && items.length < min) items.push(build(itemSchema, root, seed, depth + 1));
      return items;
    }
    case 'integer':
    case 'number':
      return numberFor(schema, type === 'integer');
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return stringFor(schema, seed);
  }
}

function typeOf(schema: Schema): string {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return String(type.find((t) => t !== 'null') ?? type[0] ?? 'string');
  if (isSchema(schema.properties)) return 'object';
  if (schema.items !== undefined || schema.prefixItems !== undefined) return 'array';
  return 'string';
}

function numberFor(schema: Schema, integer: boolean): number {
  const num = (key: string): number | undefined => (typeof schema[key] === 'number' ? schema[key] : undefined);
  const step = integer ? 1 : 0.5;
  let value = 3;
  const minimum = num('minimum');
  const exclusiveMinimum = num('exclusiveMinimum');
  const maximum = num('maximum');
  const exclusiveMaximum = num('exclusiveMaximum');
  if (minimum !== undefined && value < minimum) value = minimum;
  if (exclusiveMinimum !== undefined && value <= exclusiveMinimum) value = exclusiveMinimum + step;
  if (maximum !== undefined && value > maximum) value = maximum;
  if (exclusiveMaximum !== undefined && value >= exclusiveMaximum) value = exclusiveMaximum - step;
  const multipleOf = num('multipleOf');
  if (multipleOf !== undefined && multipleOf > 0) value = Math.ceil(value / multipleOf) * multipleOf;
  return integer ? Math.round(value) : value;
}

function stringFor(schema: Schema, seed: string): string {
  switch (schema.format) {
    case 'date':
      return '2026-01-21';
    case 'date-time':
      return '2026-01-21T11:49:31Z';
    case 'email':
      return 'user@example.com';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    default: {
      let text = seed;
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      while (text.length < min) text += 'x';
      if (typeof schema.maxLength === 'number') text = text.slice(0, schema.maxLength);
      return text;
    }
  }
}
