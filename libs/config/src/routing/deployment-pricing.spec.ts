import { deploymentPricing, directPricing, FREE } from './deployment-pricing';
import type { PricingConfig } from './routing-config.schema';

const price = (rub: number): PricingConfig => ({ prompt_per_1k: rub, completion_per_1k: rub });
const [OWN, MODEL, LISTED, CONFIGURED] = [price(1), price(2), price(3), price(4)];
const listing = new Map([['qwen', LISTED]]);

describe('deploymentPricing', () => {
  it.each<[string, Parameters<typeof deploymentPricing>, PricingConfig | undefined]>([
    ['its own price first', [{ pricing: listing }, { pricing: MODEL }, { model: 'qwen', pricing: OWN }], OWN],
    ['free, over every price', [{ pricing: listing }, { pricing: MODEL }, { model: 'qwen', free: true }], FREE],
    ['the model price next', [{ pricing: listing, free: true }, { pricing: MODEL }, { model: 'qwen' }], MODEL],
    ['the provider list next', [{ pricing: listing, free: true }, {}, { model: 'qwen' }], LISTED],
    ['free when the provider is', [{ pricing: listing, free: true }, {}, { model: 'other' }], FREE],
    ['nothing when nobody says', [{ pricing: listing }, {}, { model: 'other' }], undefined],
    ['nothing without a list', [{}, {}, { model: 'qwen' }], undefined],
  ])('%s', (_name, args, expected) => {
    expect(deploymentPricing(...args)).toBe(expected);
  });
});

describe('directPricing', () => {
  it.each<[string, Parameters<typeof directPricing>, PricingConfig | undefined]>([
    ['the provider list first', [{ pricing: listing, free: true }, 'qwen', CONFIGURED], LISTED],
    ['a configured deployment next', [{ pricing: listing, free: true }, 'other', CONFIGURED], CONFIGURED],
    ['free when the provider is', [{ pricing: listing, free: true }, 'other', undefined], FREE],
    ['nothing when nobody says', [{ pricing: listing }, 'other', undefined], undefined],
  ])('%s', (_name, args, expected) => {
    expect(directPricing(...args)).toBe(expected);
  });
});
