/**
 * Whether a parsed JSON value nests more than `limit` arrays/objects deep.
 * Iterative on purpose: 64 KiB of "[[[[…" parses fine but overflows the stack
 * of the recursive JSON.stringify that stores and serialises it (a 500 before
 * this check). Stops as soon as the limit is passed.
 */
export function nestsDeeperThan (value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (current === null || typeof current !== 'object') continue
    if (depth + 1 > limit) return true
    for (const child of Object.values(current)) stack.push([child, depth + 1])
  }
  return false
}
