// Stand-in for `k6`: records every check's outcome, runs groups inline, never sleeps.
const state = () => globalThis.__k6stub

export function check (value, sets) {
  let all = true
  for (const [name, predicate] of Object.entries(sets)) {
    const ok = Boolean(predicate(value))
    state().checks.push({ name, ok })
    all = all && ok
  }
  return all
}

export function group (name, fn) {
  state().groups.push(name)
  return fn()
}

export function sleep (seconds) {
  state().slept.push(seconds)
}

export default { check, group, sleep }
