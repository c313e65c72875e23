import t from 'tap'
import { increaseOf, ratePoints, resetsOf, runsOf, scrapedThroughBalancer } from '../../src/lab/counters.js'
import { counterSeries, gaugeSeries, readPrometheusView } from '../../src/lab/drills/prometheus-view.js'

// What the report derives from a counter's raw samples, and how the drill turns Prometheus' answers into them.

const points = (...pairs: Array<[number, number]>) => pairs.map(([t, value]) => ({ t, value }))

t.test('increase: differences, and after a drop (a restart) the whole new value', async (t) => {
  const restarted = points([-0.5, 100], [0.5, 150], [1.5, 210], [4.5, 30], [5.5, 90])
  t.equal(increaseOf(restarted), 50 + 60 + 30 + 60)
  t.equal(resetsOf(restarted), 1)
  t.equal(increaseOf(points([0, 5])), 0, 'one sample: the baseline only')
  t.equal(resetsOf(points([0, 5], [1, 6])), 0)
})

t.test('rate: per second between scrapes; 0 while a restarted instance was down, to the end for one that is gone', async (t) => {
  t.strictSame(ratePoints(points([0, 0], [1, 100], [2, 150])), points([1, 100], [2, 50]))
  // Down from 1 to 4.5 (not scraped), back counting from zero: 0 until the interval before its first scrape.
  t.strictSame(ratePoints(points([0, 0], [1, 100], [4.5, 30], [5.5, 90])), points([1, 100], [3.5, 0], [4.5, 30], [5.5, 60]))
  // Not scraped for 3 s but never restarted (scrapes that timed out): the increase spread over the gap.
  t.strictSame(ratePoints(points([0, 0], [3, 300])), points([3, 100]))
  t.strictSame(ratePoints(points([0, 0], [1, 100]), 1, 6), points([1, 100], [6, 0]), 'gone after 1 s: 0 to the end')
  t.strictSame(ratePoints(points([0, 0], [1, 100]), 1, 2), points([1, 100]), 'scraped to the end: nothing added')
  t.strictSame(ratePoints(points([1, 5], [1, 5])), [], 'two samples at one time: no rate')
})

t.test('runs: a line breaks where scrapes are missing', async (t) => {
  t.strictSame(runsOf(points([0, 1], [1, 2], [4, 3], [5, 4])), [points([0, 1], [1, 2]), points([4, 3], [5, 4])])
  t.strictSame(runsOf([]), [])
})

t.test('through the balancer: each scrape on the next instance in turn, a down one passed over', async (t) => {
  const a = { instance: 'api-1', points: points([-0.2, 1000], [0.8, 1100], [1.8, 1200], [2.8, 1300], [3.8, 1400], [4.8, 1500], [5.8, 1600]) }
  const b = { instance: 'api-2', points: points([-0.4, 10], [0.6, 60], [1.6, 110]) } // gone after 1.6
  t.strictSame(scrapedThroughBalancer([a, b]), [
    { t: 0, value: 1000, instance: 'api-1' },
    { t: 1, value: 60, instance: 'api-2' },
    { t: 2, value: 1200, instance: 'api-1' },
    { t: 3, value: 110, instance: 'api-2' },
    { t: 4, value: 1400, instance: 'api-1' },
    { t: 5, value: 1500, instance: 'api-1' } // api-2's turn, but not scraped for more than 2 s: the balancer passes it over
  ])
  const read = increaseOf(scrapedThroughBalancer([a, b])!)
  t.equal(read, 60 + 1140 + 110 + 1290 + 100, 'every drop read as a restart, every rise as new requests')
  t.ok(read > increaseOf(a.points) + increaseOf(b.points), 'far more than the two instances served')
  t.equal(scrapedThroughBalancer([a]), null, 'one instance: nothing to mix up')
  t.strictSame(scrapedThroughBalancer([{ instance: 'api-1', points: points([0.5, 1]) }, { instance: 'api-2', points: points([0.5, 1]) }]), [], 'nobody scraped before the first second: nothing read')
})

t.test('the drill\'s series from Prometheus\' answers: per instance, summed over label sets, from the last scrape before the load', async (t) => {
  const raw = [
    { labels: { instance: 'api-2', route: '/', status_code: '200' }, samples: [[98, 5], [99, 7], [100, 9], [101, 20]] as Array<[number, number]> },
    { labels: { instance: 'api-2', route: '/kv/:key', status_code: '503' }, samples: [[100, 1], [101, 4]] as Array<[number, number]> },
    { labels: { instance: 'api-1', route: '/', status_code: '200' }, samples: [[99.5, 3], [100.5, 8]] as Array<[number, number]> }
  ]
  t.strictSame(counterSeries('requests', raw, 99.6), [
    { name: 'requests', kind: 'counter', instance: 'api-1', points: points([-0.1, 3], [0.9, 8]) },
    { name: 'requests', kind: 'counter', instance: 'api-2', points: points([-0.6, 7], [0.4, 10], [1.4, 24]) }
  ])
  const errors = counterSeries('errors-5xx', raw, 99.6, (labels) => /^5/.test(labels.status_code ?? ''))
  t.strictSame(errors.map((s) => s.points.map((p) => p.value)), [[0, 0], [0, 1, 4]], 'an instance without 5xx: a line at 0')
  t.strictSame(counterSeries('requests', [{ labels: {}, samples: [[100.5, 2]] }], 99.6)[0]!.points, points([0.9, 2]), 'no scrape before the load: from the first')

  const gauges = gaugeSeries('p99-ms', [
    { labels: { instance: 'api-2' }, samples: [[100, 12.3456], [101, Number.NaN]] },
    { labels: { instance: 'api-1' }, samples: [[100, 1]] }
  ], 99)
  t.strictSame(gauges, [
    { name: 'p99-ms', kind: 'gauge', instance: 'api-1', points: points([1, 1]) },
    { name: 'p99-ms', kind: 'gauge', instance: 'api-2', points: points([1, 12.346]) }
  ], 'NaN (a quantile of no requests) left out')
})

t.test('a Prometheus that does not answer: no series, the reason, and the load\'s time range', async (t) => {
  const view = await readPrometheusView('http://127.0.0.1:1', Date.parse('2026-11-30T10:00:00Z'), Date.parse('2026-11-30T10:00:30Z'))
  t.match(view, { url: 'http://127.0.0.1:1', from: '2026-11-30T10:00:00.000Z', to: '2026-11-30T10:00:30.000Z', stepSeconds: 1, series: [], error: /fetch failed/ })
})
