// The TypeScript transpiler tap's test processes use (tsconfig.json's
// "ts-node" section): esbuild's, instead of ts-node's own. Why: tap loads each
// test file through ts-node, which transpiled every module a test imports with
// the TypeScript compiler, in every test process: ~4 s of CPU per file before
// its first assertion, ~56 files per `npm test`. esbuild transforms the same
// modules in milliseconds. Types are not checked here: `npm run typecheck`
// (tsc) does that before the tests run, as it did before.
// The interface: https://typestrong.org/ts-node/docs/transpilers
'use strict'
const { transformSync } = require('esbuild')

exports.create = function create ({ nodeModuleEmitKind }) {
  return {
    transpile (input, { fileName }) {
      const { code, map } = transformSync(input, {
        loader: 'ts',
        format: nodeModuleEmitKind === 'nodecjs' ? 'cjs' : 'esm',
        // The Node.js running the tests: nothing to lower.
        target: `node${process.versions.node}`,
        sourcefile: fileName,
        sourcemap: 'external'
      })
      return { outputText: code, sourceMapText: map }
    }
  }
}
