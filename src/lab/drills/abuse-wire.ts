/**
 * The attacker's HTTP/1.1 client: one keep-alive socket, one request at a time,
 * on `net` itself. What it times is the wire: from the request's write to the
 * moment the data that completes its answer reaches this event loop — no request
 * object, no parser, no agent, no stream between the two (node:http's client cost
 * ~0.7 ms of CPU per request on a busy machine, and at 2,000 req/s its own queue
 * was most of a 429's measured time). Small on purpose: it reads answers with a
 * Content-Length, chunked ones, and ones that end with the connection.
 */
import { connect, type Socket } from 'node:net'

/** One request, as bytes go on the wire. */
export interface WireRequest {
  method: string
  /** Path and query. */
  path: string
  headers?: Record<string, string>
  body?: string
}

/** An answer's status (0: none came — a reset, a timeout, a close) and its time on the wire (ms). */
export interface WireAnswer {
  status: number
  latencyMs: number
}

export interface WireConnection {
  /** Sends one request (after the previous one's answer) and resolves with its answer; never rejects. */
  send: (request: WireRequest, timeoutMs: number) => Promise<WireAnswer>
  close: () => void
}

const HEADER_END = Buffer.from('\r\n\r\n')

/** The request's bytes: its line, Host, the caller's headers, and a Content-Length when it has a body. */
export function requestBytes (request: WireRequest, host: string): string {
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: ${host}`]
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`)
  if (request.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(request.body)}`)
  return `${lines.join('\r\n')}\r\n\r\n${request.body ?? ''}`
}

/** How an answer's body ends, from its head: a length, chunks, or the connection's close. */
interface Head {
  status: number
  length: number | null
  chunked: boolean
  close: boolean
  /** Bytes of head (terminator included). */
  size: number
}

/** The head of an answer at the start of `data`, or null while it is incomplete. */
export function parseHead (data: Buffer): Head | null {
  const end = data.indexOf(HEADER_END)
  if (end < 0) return null
  const lines = data.toString('latin1', 0, end).split('\r\n')
  const head: Head = { status: Number(lines[0]!.split(' ')[1]) || 0, length: null, chunked: false, close: false, size: end + HEADER_END.length }
  // No body, whatever the headers say (RFC 9110): the head is the whole answer.
  if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) head.length = 0
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim().toLowerCase()
    if (name === 'content-length') head.length ??= Number(value)
    else if (name === 'transfer-encoding') head.chunked = value.endsWith('chunked')
    else if (name === 'connection') head.close = value === 'close'
  }
  return head
}

/** Where a chunked body that starts at `from` ends (past its last chunk and trailer), or null while incomplete. */
export function chunkedEnd (data: Buffer, from: number): number | null {
  let at = from
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd < 0) return null
    const size = parseInt(data.toString('latin1', at, lineEnd), 16)
    // Not a chunk size: the answer is malformed, and ends here.
    if (Number.isNaN(size)) return data.length
    // The last chunk: its line's CRLF, any trailers, and an empty line.
    if (size === 0) {
      const trailerEnd = data.indexOf(HEADER_END, lineEnd)
      return trailerEnd < 0 ? null : trailerEnd + HEADER_END.length
    }
    at = lineEnd + 2 + size + 2
    if (at > data.length) return null
  }
}

/** A keep-alive connection to `host:port` from `localAddress`, opened on the first send and again whenever the server closed it. */
export function wireConnection (host: string, port: number, localAddress: string): WireConnection {
  const hostHeader = `${host}:${port}`
  let socket: Socket | null = null
  let pending: { on: Socket, writtenAt: number, resolve: (answer: WireAnswer) => void, timer: NodeJS.Timeout } | null = null
  let received: Buffer = Buffer.alloc(0)
  let head: Head | null = null

  const settle = (on: Socket, status: number, at: number) => {
    if (pending === null || pending.on !== on) return
    const { writtenAt, resolve, timer } = pending
    pending = null
    clearTimeout(timer)
    received = Buffer.alloc(0)
    head = null
    resolve({ status, latencyMs: at - writtenAt })
  }

  const open = (): Socket => {
    const s = connect({ host, port, localAddress, noDelay: true })
    s.on('data', (chunk: Buffer) => {
      // The answer's time: when its bytes reached this loop, before any work on them.
      const at = performance.now()
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk])
      head ??= parseHead(received)
      if (head === null) return
      const end = head.length !== null
        ? head.size + head.length
        : head.chunked ? chunkedEnd(received, head.size) : null
      if (end === null || received.length < end) return
      const close = head.close
      settle(s, head.status, at)
      if (close) drop(s)
    })
    const closed = () => {
      if (socket === s) socket = null
      // An answer that ends with its connection is complete now; any other is cut.
      const complete = head !== null && head.length === null && !head.chunked
      settle(s, complete ? head!.status : 0, performance.now())
    }
    s.once('error', closed)
    s.once('close', closed)
    return s
  }

  const drop = (s: Socket) => {
    if (socket === s) socket = null
    s.destroy()
  }

  return {
    send: (request, timeoutMs) => new Promise<WireAnswer>((resolve) => {
      socket ??= open()
      const s = socket
      const writtenAt = performance.now()
      pending = { on: s, writtenAt, resolve, timer: setTimeout(() => drop(s), timeoutMs) }
      s.write(requestBytes(request, hostHeader))
    }),
    close: () => {
      if (socket !== null) drop(socket)
    }
  }
}
