// PM2's description of the API tier: one fork-mode app per instance, each on its
// own port, so nginx sees (and round-robins over) every instance separately.
//
// Explicit apps rather than `instances: 4` + `increment_var: 'PORT'`: with PM2 7.0.4,
// `pm2 restart|reload ecosystem.config.js` then gives all four PORT=3001, and three
// crash-loop while `pm2 ls` still says online (measured).
//
// Used as is by the local stack (`npm start`, which sets the variables below) and
// by `pm2-runtime ecosystem.config.js` in the container (docker-compose.yml sets them).
// An ES module: PM2 loads it with require(), which Node >= 20.19 allows for ESM; the
// named `apps` export is what PM2 reads.
import { join } from 'node:path'

const env = process.env
const projectDir = import.meta.dirname
const instances = Number(env.INSTANCES || 4)
const basePort = Number(env.API_BASE_PORT || 3001)
// The local stack keeps logs in .stack/logs; in the container pm2-runtime streams them to stdout.
const logDir = env.SCALE_LAB_LOG_DIR

export const apps = Array.from({ length: instances }, (_, i) => {
  const name = `api-${i + 1}`
  return {
    name,
    script: join(projectDir, 'dist', 'server.js'),
    cwd: projectDir,
    exec_mode: 'fork',
    env: {
      PORT: String(basePort + i),
      INSTANCE_ID: name,
      // The rest only when set: the service's own config (src/config.ts) holds the
      // defaults; the local stack and docker-compose.yml set what they need.
      ...passThrough([
        'HOST', 'STORE', 'REDIS_URL', 'LOG_LEVEL', 'TRUST_PROXY', 'SHOW_INTERNALS',
        'RATE_LIMIT_MAX', 'RATE_LIMIT_WINDOW_MS', 'RATE_LIMIT_STORE',
        'WORK_CONCURRENCY', 'WORK_QUEUE', 'WORK_QUEUE_MS', 'WORK_SHED', 'METRICS', 'METRICS_FINAL_SCRAPE_MS',
        // Sentinel mode and durable mode (docs/store-ha.md).
        'REDIS_MODE', 'REDIS_SENTINELS', 'REDIS_MASTER_NAME', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD',
        'REDIS_DURABLE', 'REDIS_DURABLE_TIMEOUT_MS'
      ]),
      // Below kill_timeout, so a draining instance exits by itself before PM2's SIGKILL.
      SHUTDOWN_GRACE_MS: '4000'
    },
    // A restarted worker boots only the service. By default PM2's fork-mode wrapper first
    // loads its own metrics agent (pm2-io, ~100 ms of CPU a boot here) and turns on source
    // maps, which parses dist/server.js.map (4.5 MB) at every start (~200 ms of CPU and
    // 24 MB). Together a quarter of a boot's CPU (docs/stack.md). Stack traces then name
    // dist/server.js lines (function names are kept); `node --enable-source-maps
    // dist/server.js` maps them to src/ when debugging.
    pmx: false,
    disable_source_map_support: true,
    // Wait for the instance's process.send('ready') (sent once it listens) before
    // calling a start or reload done, and before reloading the next one.
    wait_ready: true,
    listen_timeout: 10000,
    // PM2 sends SIGINT, then SIGKILL after this long.
    kill_timeout: 5000,
    // A killed worker is restarted at once: under the kill drill's load it serves again
    // 0.8–1.4 s after the kill (measured). A delay only made that longer: 100 ms pushed the
    // slowest past 1.6 s, and exp_backoff_restart_delay grew to 3–9 s over back-to-back
    // drills. The backoff that matters is for a crash loop: 10 exits, each within 1 s of
    // starting, and PM2 stops restarting it instead of spinning.
    autorestart: true,
    restart_delay: 0,
    min_uptime: 1000,
    max_restarts: 10,
    max_memory_restart: '300M',
    ...(logDir
      ? { out_file: join(logDir, `${name}.out.log`), error_file: join(logDir, `${name}.err.log`) }
      : {}),
    time: false
  }
})

/** The variables among `names` that are set (and not empty) in this environment. */
function passThrough (names) {
  return Object.fromEntries(names.filter((name) => env[name]).map((name) => [name, env[name]]))
}

export default { apps }
