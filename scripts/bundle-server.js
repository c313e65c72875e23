// Bundles the service's entry point into one file, dist/server.js, replacing the
// one tsc emitted. Why: Node loads ~700 small ES modules of TypeBox alone at boot;
// one bundled file boots in ~0.6 s instead of ~1.2 s (measured here), and a
// worker PM2 restarts after a crash is serving again that much sooner.
// pino is inside too (loading it from node_modules was ~6% of a boot): the service never
// uses its worker-thread transports, which would look for their files beside the bundle.
// pino-pretty stays outside: server.ts imports it only when stdout is a terminal.
import { build } from 'esbuild'

await build({
  entryPoints: ['src/server.ts'],
  outfile: 'dist/server.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Whitespace and comments out: the loader decodes the whole file at every start, and a
  // comment's one non-ASCII character made it a two-byte string of 2.8 MB; 1.9 MB of
  // ASCII decodes in about a third of the time (docs/stack.md#a-workers-boot). Names stay
  // (stack traces show them); `node --enable-source-maps` maps positions back to src/.
  // The dependencies' licence comments go to dist/server.js.LEGAL.txt.
  minifyWhitespace: true,
  legalComments: 'external',
  external: ['pino-pretty'],
  // Bundled CommonJS dependencies call require() and read __dirname: give the ES module both.
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      "import { dirname as __pathDirname } from 'node:path';",
      'const require = __createRequire(import.meta.url);',
      'const __filename = __fileURLToPath(import.meta.url);',
      'const __dirname = __pathDirname(__filename);'
    ].join(' ')
  },
  logLevel: 'warning'
})
