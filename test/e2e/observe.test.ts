import t from 'tap'
import { apiPortsOf } from '../../src/lab/stack/settings.js'
import { startTestStack } from '../stack-helper.js'

t.test('the observed stack', async (t) => {
  const { base, settings } = await startTestStack(t)

  t.test('/metrics is 404 (JSON) through the balancer, and served on each instance\'s own port', async (t) => {
    for (const path of ['/metrics', '/metrics?x=1']) {
      const res = await fetch(`${base}${path}`)
      t.equal(res.status, 404, path)
      t.equal(res.headers.get('x-upstream'), null, 'answered by nginx itself, no instance asked')
      t.match(await res.json(), { statusCode: 404, code: 'SL_NOT_THROUGH_BALANCER', error: 'Not Found' })
    }
    for (const port of apiPortsOf(settings)) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`)
      t.equal(res.status, 200, `instance on :${port}`)
      t.match(await res.text(), /^# HELP /m)
    }
  })
})
