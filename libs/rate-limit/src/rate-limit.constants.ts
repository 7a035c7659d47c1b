/** Metadata key of {@link SkipRateLimit}. */
export const SKIP_RATE_LIMIT = 'xrouter:skip-rate-limit';
