import { Injectable } from '@nestjs/common';

/** Set when the process begins to drain (SIGTERM): readiness turns false so the load balancer stops sending. */
@Injectable()
export class ShutdownState {
  private draining = false;

  begin(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}
