// prom-client's default collectors, one by one (src/lib/process-metrics.ts): its
// package ships no types for these files. Each adds its metrics to the registry given.
declare module 'prom-client/lib/metrics/*.js' {
  import type { Registry } from 'prom-client'
  const addTo: (registry: Registry) => void
  export default addTo
}
