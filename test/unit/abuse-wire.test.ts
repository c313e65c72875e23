// The attacker's HTTP/1.1 client, its pure parts: the request's bytes, an
// answer's head, and where a chunked body ends (test/abuse-attacks.test.ts
// runs it against a server).
import t from 'tap'
import { chunkedEnd, parseHead, requestBytes } from '../../src/lab/drills/abuse-wire.js'

t.test('requestBytes: the line, Host, the headers, and a Content-Length with a body', async (t) => {
  t.equal(requestBytes({ method: 'GET', path: '/kv/a' }, '127.0.0.1:80'), 'GET /kv/a HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n')
  t.equal(
    requestBytes({ method: 'POST', path: '/kv/é', headers: { 'content-type': 'application/json' }, body: '{"value":"é"}' }, 'h:1'),
    'POST /kv/é HTTP/1.1\r\nHost: h:1\r\ncontent-type: application/json\r\nContent-Length: 14\r\n\r\n{"value":"é"}',
    'the length in bytes, not characters'
  )
})

t.test('parseHead: the status, and how the body ends', async (t) => {
  t.equal(parseHead(Buffer.from('HTTP/1.1 429 Too Many Requests\r\nContent-Le')), null, 'incomplete')
  const head = 'HTTP/1.1 429 Too Many Requests\r\nServer: nginx\r\nContent-Length: 148\r\nConnection: keep-alive\r\n\r\n'
  t.strictSame(parseHead(Buffer.from(`${head}{"statusCode":429`)), { status: 429, length: 148, chunked: false, close: false, size: head.length })
  t.match(parseHead(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n')), { status: 200, length: null, chunked: true, close: true })
  t.match(parseHead(Buffer.from('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n')), { status: 204, length: 0 }, 'no body')
  t.match(parseHead(Buffer.from('garbage\r\n\r\n')), { status: 0, length: null, chunked: false })
})

t.test('chunkedEnd: past the last chunk and any trailers, null while incomplete', async (t) => {
  const body = '5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n'
  t.equal(chunkedEnd(Buffer.from(`xx${body}`), 2), 2 + body.length)
  t.equal(chunkedEnd(Buffer.from(`${body}next`), 0), body.length, 'the next answer\'s bytes are not this one\'s')
  const trailed = '5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n'
  t.equal(chunkedEnd(Buffer.from(`${trailed}next`), 0), trailed.length, 'trailers included')
  for (const cut of ['5\r\nhel', '5\r\nhello\r\n', '5\r\nhello\r\n0\r\n', '5']) t.equal(chunkedEnd(Buffer.from(cut), 0), null, JSON.stringify(cut))
  t.equal(chunkedEnd(Buffer.from('zz\r\nrest'), 0), 8, 'not a size: the answer ends with the data')
})
