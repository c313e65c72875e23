import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { loadConfig, proxyTrust, trustedProxies } from '../../src/config.js'
import { RateLimitClients } from '../../src/lib/rate-limit-clients.js'
import { clientKey } from '../../src/lib/rate-limiter.js'

// The rate limit remembers which client a request counts against instead of
// deriving request.ip per request: it must always say what request.ip says.
// Real Fastify (inject, nothing listens), real TRUST_PROXY compilation.

async function echo (t: Test, trustProxySetting: string, most?: number) {
  const config = loadConfig({ TRUST_PROXY: trustProxySetting })
  const trust = proxyTrust(config)
  const clients = new RateLimitClients((address) => trust(address, 0), most)
  const app = Fastify({ trustProxy: trustedProxies(config) === false ? false : trust })
  app.get('/', async (request) => ({ expected: clientKey(request.ip), remembered: clients.of(request) }))
  t.teardown(() => app.close())
  return async (remoteAddress: string, forwarded?: string) => {
    const headers = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }
    return (await app.inject({ url: '/', remoteAddress, headers })).json() as { expected: string, remembered: string }
  }
}

const cases: Array<[string, string | undefined]> = [
  ['127.0.0.1', '198.51.100.1'],
  ['127.0.0.1', '198.51.100.2'],
  ['127.0.0.1', undefined],
  ['127.0.0.1', ''],
  ['127.0.0.1', ' , '],
  ['10.0.0.9', ''],
  ['127.0.0.1', '203.0.113.5, 10.0.0.9'],
  ['127.0.0.1', '203.0.113.5, 127.0.0.1'],
  ['127.0.0.1', '2001:db8:1:2::9'],
  ['198.51.100.7', '203.0.113.5'],
  ['2001:db8:1:2::1', '203.0.113.5'],
  ['::ffff:127.0.0.1', '198.51.100.3']
]

t.test('the remembered client is always the one request.ip names, asked twice (a miss, then a hit)', async (t) => {
  for (const setting of ['127.0.0.1', '127.0.0.1,10.0.0.0/8', '']) {
    const ask = await echo(t, setting)
    for (const round of ['first', 'again']) {
      for (const [peer, forwarded] of cases) {
        const { expected, remembered } = await ask(peer, forwarded)
        t.equal(remembered, expected, `TRUST_PROXY=${setting} peer ${peer} X-Forwarded-For ${forwarded} (${round})`)
      }
    }
  }
})

t.test('an X-Forwarded-For naming no address leaves each balancer its own key', async (t) => {
  const ask = await echo(t, '127.0.0.1,10.0.0.0/8')
  t.equal((await ask('127.0.0.1', ' ')).remembered, '127.0.0.1')
  t.equal((await ask('10.0.0.9', ' ')).remembered, '10.0.0.9', 'not the first balancer\'s, remembered for the header')
})

t.test('the memo is bounded: past its size it starts over and still answers right', async (t) => {
  const ask = await echo(t, '127.0.0.0/8', 3)
  for (const round of ['first', 'again']) {
    for (let i = 1; i <= 7; i++) {
      const { expected, remembered } = await ask(`127.0.0.${i}`, `10.0.0.${i}`)
      t.equal(remembered, expected, `client ${i} (${round})`)
    }
  }
})
