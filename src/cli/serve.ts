import { PolicyError } from '../policy/errors.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { startServer, type RunningServer } from '../server/server.js';
import { EXIT, type CliIO } from './io.js';

const HELP = `tierguard serve — the GitLab webhook service

Configured from the environment:
  GITLAB_URL            base URL of the GitLab instance (required)
  GITLAB_TOKEN          project/group access token, role Developer, scope api (required)
  WEBHOOK_SECRET        the webhook's secret token, at least 16 characters (required)
  PORT                  listen port (default 8080); HOST (default 0.0.0.0)
  POLICY_DIR            policy directory (default ./policies)
  LOG_LEVEL             fatal|error|warn|info|debug|trace|silent (default info)
  CONCURRENCY           merge requests evaluated at once (default 4)
  STATUS_CHECK_PROJECTS project ids (comma-separated) or "all": answer the External Status Check "tierguard"
  PUBLIC_URL            optional public base URL (recorded)
  REDIS_URL             optional: queue, dedup and known projects in Redis (several replicas)
  BODY_LIMIT            largest webhook body in bytes (default 1048576)
  RETRY_WINDOW_SECONDS  how long transient GitLab failures of a review are retried (default 900)
  RECONCILE_INTERVAL_SECONDS  catch-up of open MRs without a final status, every … s (default 600; 0 off)
  RECONCILE_LOOKBACK_DAYS     the catch-up looks at MRs updated within … days (default 14)
  SHUTDOWN_TIMEOUT_SECONDS    on SIGTERM, wait this long for reviews in flight (default 25)

On SIGTERM/SIGINT: /readyz answers 503 "draining" at once, the listener stays open, reviews in
flight finish (SHUTDOWN_TIMEOUT_SECONDS at most), then the process exits 0.

Exit codes: 0 stopped cleanly (SIGTERM/SIGINT), 2 invalid configuration or policy, 1 runtime failure.
`;

/**
 * `tierguard serve`: start the service from the environment and run until SIGTERM/SIGINT,
 * then stop taking webhooks and drain the work in progress.
 */
export async function serveCommand(args: string[], io: CliIO, signals: NodeJS.EventEmitter = process): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (args.length > 0) {
    io.stderr.write(`tierguard serve: unexpected argument ${JSON.stringify(args[0])} (configuration comes from the environment; see --help)\n`);
    return EXIT.usage;
  }
  let server: RunningServer;
  try {
    const config = loadConfig(io.env);
    server = await startServer({ config });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PolicyError) {
      io.stderr.write(`tierguard serve: ${err.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`tierguard serve: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.logger.info({ signal }, 'signal received');
      server.close().then(
        () => resolve(EXIT.ok),
        (err: unknown) => {
          io.stderr.write(`tierguard serve: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
          resolve(1);
        },
      );
    };
    signals.once('SIGTERM', () => stop('SIGTERM'));
    signals.once('SIGINT', () => stop('SIGINT'));
  });
}
