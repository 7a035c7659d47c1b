import { SetMetadata } from '@nestjs/common';
import { SKIP_RATE_LIMIT } from './rate-limit.constants';

/** Exempts an authenticated route (or controller) from the per-key rate limits. Public routes are never limited. */
export const SkipRateLimit = (): MethodDecorator & ClassDecorator => SetMetadata(SKIP_RATE_LIMIT, true);
