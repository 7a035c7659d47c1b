/** Shared mutable state of one emulator server: options, request statistics and admin faults. */
import type { EmulatorOptions, ProviderName } from './emulator-defaults';
import { PROVIDER_NAMES } from './emulator-defaults';
import { FaultRegistry } from './faults';
import { GigaChatFileStore } from './gigachat-files.emulator';

export interface ProviderStats {
  /** Every request that reached the provider's routes, faulted ones included. */
  requests: number;
  /** Requests by route key, e.g. `POST /chat/completions`; unknown paths count as `unmatched`. */
  routes: Record<string, number>;
  /** GigaChat: successful OAuth token issues; Yandex: IAM tokens issued for service-account JWTs. 0 for the others. */
  oauthTokensIssued: number;
  /** Requests answered with an injected fault (header, message directive or admin entry). */
  faultsInjected: number;
  /** GigaChat: replayed function calls that carried back the right `functions_state_id`. Always 0 for the others. */
  functionStatesEchoed: number;
}

export class EmulatorStats {
  private stats = EmulatorStats.empty();

  private static empty(): Record<ProviderName, ProviderStats> {
    const stats = {} as Record<ProviderName, ProviderStats>;
    for (const name of PROVIDER_NAMES)
      stats[name] = { requests: 0, routes: {}, oauthTokensIssued: 0, faultsInjected: 0, functionStatesEchoed: 0 };
    return stats;
  }

  request(provider: ProviderName, route: string): void {
    const stats = this.stats[provider];
    stats.requests++;
    stats.routes[route] = (stats.routes[route] ?? 0) + 1;
  }

  tokenIssued(provider: ProviderName): void {
    this.stats[provider].oauthTokensIssued++;
  }

  functionStateEchoed(provider: ProviderName): void {
    this.stats[provider].functionStatesEchoed++;
  }

  faultInjected(provider: ProviderName): void {
    this.stats[provider].faultsInjected++;
  }

  snapshot(): Record<ProviderName, ProviderStats> {
    return structuredClone(this.stats);
  }

  reset(): void {
    this.stats = EmulatorStats.empty();
  }
}

export class EmulatorState {
  readonly stats = new EmulatorStats();
  readonly faults = new FaultRegistry();
  /** GigaChat's uploaded files (`POST /files`), per authorization key. */
  readonly gigachatFiles = new GigaChatFileStore();
  private seq = 0;

  constructor(readonly options: EmulatorOptions) {}

  /** A per-server sequence number for response and call ids. */
  nextSeq(): number {
    return ++this.seq;
  }
}
