/**
 * Progress of a long audit: a bar on a terminal (projects done/total, ETA), plain lines for logs
 * otherwise (every 10 % and at most every 30 s).
 */
export interface Progress {
  update(done: number, total: number): void;
  finish(done: number, total: number): void;
}

export interface ProgressOptions {
  stream: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  now?: () => number;
  label?: string;
}

function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  const started = now();
  const label = opts.label ?? 'audit';
  const tty = opts.stream.isTTY === true;
  let lastLine = 0;
  let lastDecile = -1;
  let startDone: number | undefined;
  const eta = (done: number, total: number): string => {
    startDone ??= done;
    const fresh = done - startDone;
    if (fresh <= 0) return '?';
    const per = (now() - started) / fresh;
    return formatDuration(per * (total - done));
  };
  return {
    update(done, total) {
      if (tty) {
        const width = Math.max(10, Math.min(40, (opts.stream.columns ?? 80) - 50));
        const filled = total ? Math.round((done / total) * width) : width;
        opts.stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} projects, ETA ${eta(done, total)}   `);
        return;
      }
      const decile = total ? Math.floor((done / total) * 10) : 10;
      if (decile !== lastDecile || now() - lastLine >= 30_000) {
        lastDecile = decile;
        lastLine = now();
        opts.stream.write(`${label}: ${done}/${total} projects (${total ? Math.floor((done / total) * 100) : 100}%), ETA ${eta(done, total)}\n`);
      }
    },
    finish(done, total) {
      const msg = `${label}: ${done}/${total} projects in ${formatDuration(now() - started)}`;
      opts.stream.write(tty ? `\r${msg}${' '.repeat(30)}\n` : `${msg}\n`);
    },
  };
}
