/** A FIFO with O(1) amortised push, take-from-front and drop-oldest (an array and a moving head). */
export class RowQueue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Removes and returns up to `count` items from the front. */
  take(count: number): T[] {
    const taken = this.items.slice(this.head, this.head + count);
    this.head += taken.length;
    this.compact();
    return taken;
  }

  /** Puts items back at the front, in their order (a batch that could not be written). */
  unshift(items: readonly T[]): void {
    if (items.length === 0) return;
    this.items = items.concat(this.items.slice(this.head));
    this.head = 0;
  }

  /** Discards up to `count` items from the front; returns how many it discarded. */
  dropOldest(count: number): number {
    const dropped = Math.max(0, Math.min(count, this.length));
    this.head += dropped;
    this.compact();
    return dropped;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head === this.items.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
