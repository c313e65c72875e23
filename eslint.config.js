import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', '.stack/**', 'reports/**', 'coverage/**', '.tap/**']
  }),
  {
    // k6 scripts: the globals k6 defines (https://grafana.com/docs/k6/latest/using-k6/environment-variables/)
    files: ['k6/**/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly' } }
  }
]
