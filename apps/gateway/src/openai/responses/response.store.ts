import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { idCreatedAt } from './responses-mapping';
import type { ConversationItem, ResponseObject } from './responses.types';

/** A stored response: what it answered, its input, and what earlier responses of its chain said before it. */
export interface StoredResponse {
  id: string;
  createdAt: Date;
  userId: string;
  /** The items carried from earlier responses of the chain, oldest first (their input, then their output). */
  context: ConversationItem[];
  input: ConversationItem[];
  response: ResponseObject;
}

interface Row {
  id: string;
  created_at: Date | string;
  user_id: string;
  context: unknown;
  input: unknown;
  response: unknown;
}

/** A `json` column comes back parsed from node-postgres and as text from some drivers: read both. */
function parsed<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * Stored responses (`responses`, day-partitioned like request_logs; retention drops whole partitions). Every
 * read and delete is scoped to the user: another user's response does not exist for them.
 *
 * A response is saved after its answer is sent, so a client may ask for it (or continue it) before the insert is
 * done: a read of an id whose insert this process still has in flight waits for that insert first, and a miss for an
 * id made in the last {@link RECENT_MS} (its insert may be in flight on another replica) is asked again a few times
 * over about a second before it is a miss.
 */
/** How young an id must be for a miss to be asked again, and the waits between the asks. */
export const RECENT_MS = 10_000;
const RECHECK_AFTER_MS = [50, 150, 300, 500];

@Injectable()
export class ResponseStore {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly dataSource: DataSource) {}

  save(stored: StoredResponse): Promise<void> {
    const saving = this.insert(stored).finally(() => this.pending.delete(stored.id));
    this.pending.set(stored.id, saving);
    return saving;
  }

  private async settled(id: string): Promise<void> {
    await this.pending.get(id)?.catch(() => undefined);
  }

  private async insert(stored: StoredResponse): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO responses (id, created_at, user_id, context, input, response) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        stored.id,
        stored.createdAt.toISOString(),
        stored.userId,
        JSON.stringify(stored.context),
        JSON.stringify(stored.input),
        JSON.stringify(stored.response),
      ],
    );
  }

  /** Runs `ask` until it finds something; a recent id's miss is asked again (see the class comment). */
  private async untilFound<T>(id: string, ask: () => Promise<T | null>): Promise<T | null> {
    await this.settled(id);
    const found = await ask();
    const createdAt = idCreatedAt(id);
    if (found !== null || createdAt === null || Math.abs(Date.now() - createdAt) > RECENT_MS) return found;
    for (const wait of RECHECK_AFTER_MS) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      const again = await ask();
      if (again !== null) return again;
    }
    return null;
  }

  async find(id: string, userId: string): Promise<StoredResponse | null> {
    const row = await this.untilFound(id, async () => {
      const rows = await this.dataSource.query<Row[]>(
        `SELECT id, created_at, user_id, context, input, response FROM responses WHERE id = $1 AND user_id = $2 LIMIT 1`,
        [id, userId],
      );
      return rows[0] ?? null;
    });
    if (!row) return null;
    return {
      id: row.id,
      createdAt: new Date(row.created_at),
      userId: row.user_id,
      context: parsed(row.context),
      input: parsed(row.input),
      response: parsed(row.response),
    };
  }

  /** Whether there was such a response of this user to delete. */
  async delete(id: string, userId: string): Promise<boolean> {
    const gone = await this.untilFound(id, async () => {
      // Through a CTE: the driver answers a bare DELETE with [rows, count], a SELECT with its rows.
      const rows = await this.dataSource.query<Array<{ id: string }>>(
        `WITH gone AS (DELETE FROM responses WHERE id = $1 AND user_id = $2 RETURNING id) SELECT id FROM gone`,
        [id, userId],
      );
      return rows[0] ?? null;
    });
    return gone !== null;
  }
}
