// Stand-in for `k6/execution`: the test sets the iteration number.
export default {
  get scenario () {
    return { iterationInTest: globalThis.__k6stub.iterationInTest }
  }
}
