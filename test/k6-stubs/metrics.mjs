// Stand-in for `k6/metrics`: each add() is recorded as a sample of the metric.
const state = () => globalThis.__k6stub

function metric (type) {
  return function (name) {
    this.name = name
    this.type = type
    state().declared.push({ name, type })
    this.add = (value, tags) => {
      state().samples.push({ metric: name, type, value: Number(value), tags: tags || {} })
    }
  }
}

export const Counter = metric('counter')
export const Rate = metric('rate')

export default { Counter, Rate }
