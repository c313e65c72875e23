/**
 * The one rule every load generator here follows: load only ever goes to
 * 127.0.0.1. Returns the parsed URL, or throws naming the host it refused.
 */
export function localTarget (url: string): URL {
  const target = new URL(url)
  if (target.hostname !== '127.0.0.1') throw new Error(`load only targets 127.0.0.1, not ${target.hostname}`)
  return target
}
