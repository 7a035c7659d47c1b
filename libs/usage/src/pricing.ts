/** RUB per 1,000 tokens, as in the routing YAML (`PricingConfig`: at most 6 decimals). */
export interface Pricing {
  prompt_per_1k: number;
  completion_per_1k: number;
  /** Prompt tokens the provider served from its context cache (GigaChat's `precached_prompt_tokens`); else prompt. */
  cached_prompt_per_1k?: number;
}

/** Fractional digits of `request_logs.cost_rub` (numeric(20,9)). */
export const COST_SCALE = 9;

const PRICE_DECIMALS = 6;
const ZERO_COST = `0.${'0'.repeat(COST_SCALE)}`;

/**
 * A price in RUB per 1,000 tokens as an integer of micro-roubles (10⁻⁶ RUB). `toFixed(6)` recovers the decimal the
 * YAML held (a double is within 10⁻¹⁷ relative of it), so no rounding of the price itself ever shows.
 */
function priceToMicros(price: number, field: string): bigint {
  if (!Number.isFinite(price) || price < 0 || price >= 1e15) {
    throw new RangeError(`${field} must be a finite, non-negative price`);
  }
  return BigInt(price.toFixed(PRICE_DECIMALS).replace('.', ''));
}

/** Token counts come from upstreams: anything but a non-negative integer counts as what it safely can. */
function tokens(count: number): bigint {
  return Number.isFinite(count) && count > 0 ? BigInt(Math.trunc(count)) : 0n;
}

const NANOS_PER_RUB = 1_000_000_000n;

/** A non-negative RUB amount (a decimal string, as the API and the columns hold it) in nano-roubles (10⁻⁹ RUB). */
export function rubToNanos(rub: string): bigint {
  const [whole, fraction = ''] = rub.split('.');
  return BigInt(whole) * NANOS_PER_RUB + BigInt((fraction + '000000000').slice(0, COST_SCALE));
}

/** The sum of costs, exact, as a decimal string with 9 fractional digits. */
export function sumRub(costs: readonly string[]): string {
  return formatNanos(costs.reduce((total, cost) => total + rubToNanos(cost), 0n));
}

/** `nanos` (10⁻⁹ RUB) as a decimal string with exactly 9 fractional digits. */
export function formatNanos(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const digits = (nanos < 0n ? -nanos : nanos).toString().padStart(COST_SCALE + 1, '0');
  return `${sign}${digits.slice(0, -COST_SCALE)}.${digits.slice(-COST_SCALE)}`;
}

/**
 * Cost of one request in RUB, exact: a price per 1,000 tokens in micro-roubles is the price per token in
 * nano-roubles, so `tokens × micros` is the cost in 10⁻⁹ RUB with no rounding at all. Returned as a decimal string
 * with 9 fractional digits (the `cost_rub numeric(20,9)` column); `0.000000000` without pricing. `cachedTokens`, the
 * part of the prompt the provider had cached, is billed at `cached_prompt_per_1k` when the price has one.
 */
export function costRub(
  promptTokens: number,
  completionTokens: number,
  pricing?: Pricing | null,
  cachedTokens = 0,
): string {
  if (!pricing) return ZERO_COST;
  const micros = pricesInMicros(pricing);
  const prompt = tokens(promptTokens);
  const cached = micros.cached === null ? 0n : bigMin(tokens(cachedTokens), prompt);
  return formatNanos(
    (prompt - cached) * micros.prompt + cached * (micros.cached ?? 0n) + tokens(completionTokens) * micros.completion,
  );
}

const bigMin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** Prices converted once per pricing object (the catalog's, which live as long as the process). */
interface Micros {
  prompt: bigint;
  completion: bigint;
  cached: bigint | null;
}

const MICROS = new WeakMap<Pricing, Micros>();

function pricesInMicros(pricing: Pricing): Micros {
  let micros = MICROS.get(pricing);
  if (!micros) {
    const cached = pricing.cached_prompt_per_1k;
    micros = {
      prompt: priceToMicros(pricing.prompt_per_1k, 'prompt_per_1k'),
      completion: priceToMicros(pricing.completion_per_1k, 'completion_per_1k'),
      cached: cached === undefined ? null : priceToMicros(cached, 'cached_prompt_per_1k'),
    };
    MICROS.set(pricing, micros);
  }
  return micros;
}
