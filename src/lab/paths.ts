import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

/** The project folder (this file is src/lab/paths.ts or dist/lab/paths.js: two levels down). */
export const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url))

export const ECOSYSTEM_FILE = join(PROJECT_DIR, 'ecosystem.config.js')
export const SERVER_SCRIPT = join(PROJECT_DIR, 'dist', 'server.js')
/** The scale-lab command (src/lab/cli.ts, compiled): package.json's bin. */
export const CLI_SCRIPT = join(PROJECT_DIR, 'dist', 'lab', 'cli.js')
/** The liveness watchdog's entry point (src/lab/watchdog/main.ts, compiled). */
export const WATCHDOG_SCRIPT = join(PROJECT_DIR, 'dist', 'lab', 'watchdog', 'main.js')
/** The one nginx configuration, shared with docker-compose.yml. */
export const NGINX_TEMPLATE = join(PROJECT_DIR, 'nginx', 'scale-lab.conf.template')
export const PM2_BIN = join(PROJECT_DIR, 'node_modules', 'pm2', 'bin', 'pm2')
export const DEFAULT_STACK_DIR = join(PROJECT_DIR, '.stack')
export const REPORTS_DIR = join(PROJECT_DIR, 'reports')
