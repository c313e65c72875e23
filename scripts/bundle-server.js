// Bundles the service's entry point into one file, dist/server.js, replacing the
// one tsc emitted. Why: Node loads ~700 small ES modules of TypeBox alone at boot;
// one bundled file boots in ~0.6 s instead of ~1.2 s (measured here), and a
// worker PM2 restarts after a crash is serving again that much sooner.
// pino (and its transports) stay outside: they resolve worker files at run time.
import { build } from 'esbuild'

await build({
  entryPoints: ['src/server.ts'],
  outfile: 'dist/server.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['pino', 'pino-pretty', 'thread-stream'],
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
