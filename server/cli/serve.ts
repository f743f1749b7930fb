// `tessera serve`: run the attestation service.

import { Command, Option } from 'commander';
import { loadOrCreateSimulatorChain, defaultSimulatorDir } from '../../verifier/testing/simulator-files.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { loadConfig, ConfigError, type ConfigInput } from '../config.ts';
import { KekError } from '../crypto/kek.ts';
import { listen } from '../server.ts';
import { createService, StartupError } from '../service.ts';
import { storeLocation } from '../storage/open.ts';
import { CliError } from './errors.ts';

const DEV_BANNER = `
################################################################################
#  DEVELOPMENT MODE: this server trusts the tessera SIMULATOR's AMD and Intel   #
#  roots. Evidence from the simulator is accepted (claims.simulated = true).    #
#  The KEK is a file in the data directory. Never use this mode in production.  #
################################################################################
`;

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new CliError(`--port: expected a port number, found ${JSON.stringify(value)}`);
  return Number(value);
}

export function serveCommand(): Command {
  return new Command('serve')
    .exitOverride()
    .description('Run the attestation service (exit 2 on a configuration or startup error).')
    .option('--config <file>', 'YAML or JSON configuration file')
    .option('--data <dir>', 'data directory (database, development KEK); default ./data')
    .option('--database <url>', 'PostgreSQL database shared by replicas (postgres://user@host:5432/db) instead of SQLite in --data; env TESSERA_DATABASE_URL')
    .option('--host <host>', 'address to listen on; default 127.0.0.1')
    .addOption(new Option('--port <port>', 'port to listen on; default 8080').argParser(parsePort))
    .option('--dev', 'development mode: trust the simulator (never in production)')
    .action(async (opts: { config?: string; data?: string; database?: string; host?: string; port?: number; dev?: boolean }) => {
      const overrides: ConfigInput = {};
      if (opts.data !== undefined) overrides.dataDir = opts.data;
      if (opts.database !== undefined) overrides.database = opts.database;
      if (opts.host !== undefined) overrides.host = opts.host;
      if (opts.port !== undefined) overrides.port = opts.port;
      if (opts.dev) overrides.dev = true;
      let running: Awaited<ReturnType<typeof listen>>;
      let log;
      try {
        const config = loadConfig({ ...(opts.config ? { file: opts.config } : {}), overrides });
        if (config.dev) process.stderr.write(DEV_BANNER);
        const simulator = config.dev
          ? await (async () => {
              const chain = await loadOrCreateSimulatorChain(defaultSimulatorDir());
              return { anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain) };
            })()
          : undefined;
        const service = await createService({
          config,
          ...(simulator ? { simulator } : {}),
          announceAdminToken: (token) =>
            process.stderr.write(`\nAn admin API token was created. It is shown this once and stored only as a hash:\n\n  ${token}\n\n`),
        });
        log = service.ctx.log;
        if (config.dev) log.warn({ simulatorDir: defaultSimulatorDir() }, 'DEVELOPMENT MODE: trusting the simulator roots');
        running = await listen(service, config.host, config.port);
        log.info({ url: running.url, store: service.store.engine, at: storeLocation(config), dev: config.dev }, 'tessera listening');
      } catch (err) {
        if (err instanceof ConfigError || err instanceof KekError || err instanceof StartupError) throw new CliError(err.message);
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`cannot listen: the address is already in use`);
        throw err;
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'shutting down: finishing requests in flight');
          void running.stop().then(() => {
            log.info('stopped');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
