// A module.register() resolve hook for test/k6-scripts.test.ts: under Node, the
// k6 scripts' imports of k6's own modules and of the jslib summary resolve to
// the tiny stand-ins in this folder. They record what the scripts do; they are
// not a k6.
const stubs = {
  k6: 'k6.mjs',
  'k6/http': 'http.mjs',
  'k6/metrics': 'metrics.mjs',
  'k6/execution': 'execution.mjs'
}

export async function resolve (specifier, context, nextResolve) {
  if (Object.hasOwn(stubs, specifier)) {
    return { url: new URL(stubs[specifier], import.meta.url).href, shortCircuit: true }
  }
  if (specifier.startsWith('https://jslib.k6.io/k6-summary/')) {
    return { url: new URL('jslib-summary.mjs', import.meta.url).href, shortCircuit: true }
  }
  return nextResolve(specifier, context)
}
