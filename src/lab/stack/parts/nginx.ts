import { join } from 'node:path'
import { bindError } from '../../system/ports.js'
import { waitFor } from '../../system/process.js'
import { nginxAnswers, nginxSpec, reloadNginx, writeNginxConfig, type BalancerOptions } from '../nginx.js'
import { instancesThrough } from '../probe.js'
import { apiPortsOf, type StackSettings } from '../settings.js'
import { stackPaths } from '../state.js'
import { daemonPart, StackError } from './part.js'

/** Where the stack's nginx writes its access log (when BENCH=1 has not turned it off). */
export function accessLogFile (settings: StackSettings): string {
  return join(stackPaths(settings.dir).nginx, 'logs', 'access.log')
}

/**
 * GET /work requests nginx lets one instance hold at once: WORK_CONCURRENCY, what it
 * runs at once, so that nothing waits inside an instance (a work waiting there only
 * adds its wait to the served latency) and nginx sheds the rest in a millisecond.
 * The instance's panic backup in scale_lab_work may add one more, which its
 * WORK_QUEUE holds. 0 (no bound) with workShed off: the overload's "before" picture
 * (docs/gray-failures.md, "Shedding at the edge").
 */
export function workMaxConns (settings: StackSettings): number {
  return settings.workShed ? settings.workConcurrency : 0
}

/** The balancer of a local stack: nginx on 127.0.0.1:LB_PORT over the instances' ports. */
export function balancerOptions (settings: StackSettings): BalancerOptions {
  return {
    listen: `127.0.0.1:${settings.lbPort}`,
    upstreams: apiPortsOf(settings).map((port) => `127.0.0.1:${port}`),
    keepalive: settings.keepalive,
    retryNonIdempotent: settings.retryNonIdempotent,
    passiveHealth: settings.passiveHealth,
    retryShed: settings.retryShed,
    workMaxConns: workMaxConns(settings),
    accessLogFile: settings.accessLog ? accessLogFile(settings) : null,
    statusListen: `127.0.0.1:${settings.nginxStatusPort}`,
    edge: {
      clientRate: settings.clientRate,
      clientBurst: settings.clientBurst,
      clientConnections: settings.clientConnections,
      clientWork: settings.clientWork,
      knownHosts: settings.knownHosts,
      upstreamHeader: settings.upstreamHeader
    }
  }
}

/**
 * nginx: (re)rendered from the shared template on every `up`, reloaded when that
 * changed the configuration; up once a request through it reaches every instance.
 */
export const nginxPart = daemonPart({
  name: 'nginx',
  port: (settings) => settings.lbPort,
  spec: ({ settings, paths }) => nginxSpec('nginx', paths.nginx, settings.lbPort),
  answers: (settings) => nginxAnswers(settings.lbPort),
  async checkPort (settings) {
    const problem = await bindError(settings.lbPort, '127.0.0.1')
    if (problem === 'EACCES') {
      throw new StackError(`cannot listen on port ${settings.lbPort}: permission denied (ports below 1024 need root). ` +
        'Use another port: LB_PORT=8080 npm start')
    }
    if (problem !== null) {
      throw new StackError(`cannot listen on port ${settings.lbPort} (${problem}: a system nginx or another server?). ` +
        'Stop it, or use another port: LB_PORT=8080 npm start')
    }
  },
  configure: ({ settings, paths }) => writeNginxConfig(paths.nginx, balancerOptions(settings)),
  reload: reloadNginx,
  settle: ({ settings }) => waitFor(`nginx to reach all ${settings.instances} instances`, async () =>
    (await instancesThrough(settings.lbPort, settings.instances)).length === settings.instances, 15_000, 100)
})
