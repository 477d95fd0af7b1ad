import { EventEmitter } from 'node:events';

/**
 * BullMQ 5 (dist/cjs/classes/redis-connection.js): each internal RedisConnection starts with
 * `this.initializing.catch(err => this.emit('error', err))`, and its close() removes every
 * listener. A connection whose first connect fails after its Queue, Worker or QueueEvents was
 * closed (Redis unreachable, closed at once) then emits 'error' with no listener, which throws
 * inside that catch: an unhandled rejection that can take the process down. Call this on every
 * BullMQ object right after creating it: once its connections have no listener left, such an
 * error has nowhere to go and is dropped (while open, the owner's own 'error' listeners receive
 * it). Typed loosely so this module needs no BullMQ import; it reads BullMQ's internal
 * `connection` and `blockingConnection` fields.
 */
export function quietAfterClose(owner: object): void {
  const internals = owner as Record<string, unknown>;
  for (const key of ['connection', 'blockingConnection']) {
    const conn = internals[key];
    if (!(conn instanceof EventEmitter)) continue;
    const emit = conn.emit.bind(conn);
    conn.emit = (event: string | symbol, ...args: unknown[]): boolean => (event === 'error' && conn.listenerCount('error') === 0 ? false : emit(event, ...args));
  }
}
