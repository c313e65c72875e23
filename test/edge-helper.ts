import { request, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import type { Test } from 'tap'
import { EDGE_DEFAULTS, nginxSpec, writeNginxConfig, type BalancerOptions, type EdgeOptions } from '../src/lab/stack/nginx.js'
import { freePort } from '../src/lab/system/ports.js'
import { testSupervisor } from './helper.js'

/**
 * A real nginx on the project's template, in front of `upstreams` (ports on
 * 127.0.0.1), with the edge's defaults and `edge`'s changes (and the balancer's in
 * `balancer`: GET /work's bound, the access log); stopped in teardown.
 */
export async function startEdge (t: Test, upstreams: number[], edge: Partial<EdgeOptions> = {}, balancer: Partial<BalancerOptions> = {}): Promise<number> {
  const port = await freePort()
  const { supervisor, dir: prefix } = testSupervisor(t, 'sl-edge-')
  await writeNginxConfig(prefix, {
    listen: `127.0.0.1:${port}`,
    upstreams: upstreams.map((p) => `127.0.0.1:${p}`),
    keepalive: 16,
    retryNonIdempotent: true,
    passiveHealth: true,
    retryShed: false,
    workMaxConns: 0,
    accessLogFile: null,
    statusListen: `127.0.0.1:${await freePort()}`,
    edge: { ...EDGE_DEFAULTS, ...edge },
    ...balancer
  })
  await supervisor.start(nginxSpec('nginx', prefix, port))
  return port
}

export interface Answer { status: number, headers: IncomingHttpHeaders, body: string }

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: string
  /** The client's own address (127.0.0.2 is another client than 127.0.0.1). */
  from?: string
  /** Give up (reject) when no answer has come within this long. */
  timeoutMs?: number
}

/** One request on a connection of its own. */
export function send (port: number, path: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, localAddress: options.from, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)))
    req.end(options.body)
  })
}

/** Writes `text` as is, then reads until the server closes the connection: what it said, and after how long. */
export function sendRaw (port: number, text: string, { end = true } = {}): Promise<{ reply: string, closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let reply = ''
    const socket = connect(port, '127.0.0.1', () => {
      if (end) socket.end(text)
      else socket.write(text)
    })
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { reply += chunk })
    socket.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'ECONNRESET') reject(err) })
    socket.on('close', () => resolve({ reply, closedAfterMs: performance.now() - started }))
  })
}

/** The status and JSON body of a raw HTTP/1.1 reply. */
export function parseRaw (reply: string): { status: number, contentType: string | undefined, json: unknown } {
  const [head = '', body = ''] = reply.split('\r\n\r\n')
  const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head)?.[1] ?? 0)
  const contentType = /^content-type: *(.+)$/im.exec(head)?.[1]?.trim()
  let json: unknown
  try { json = JSON.parse(body) } catch { json = undefined }
  return { status, contentType, json }
}
