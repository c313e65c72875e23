// The README's layout is a tree of src/: every folder in it exists, and every
// folder under src/ is in it, so the map cannot drift from the code.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { PROJECT_DIR } from '../../src/lab/paths.js'

/** The folders of the README's Layout block under src/, from the tree's indentation (two spaces a level). */
function layoutFolders (readme: string): string[] {
  const tree = /## Layout\n+```\n([\s\S]*?)```/.exec(readme)?.[1]
  if (tree === undefined) throw new Error('README.md has no "## Layout" code block')
  const path: string[] = []
  const folders: string[] = []
  for (const line of tree.split('\n')) {
    const [, indent, folder] = /^( *)(\S+)\/(?:\s|$)/.exec(line) ?? []
    if (indent === undefined || folder === undefined) continue
    const depth = indent.length / 2
    path.length = depth
    path.push(folder)
    if (path[0] === 'src' && depth > 0) folders.push(path.join('/'))
  }
  return folders
}

function sourceFolders (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => [relative(PROJECT_DIR, join(dir, entry.name)), ...sourceFolders(join(dir, entry.name))])
}

t.test('the README\'s layout names every folder under src/, and only those', async (t) => {
  const named = layoutFolders(readFileSync(join(PROJECT_DIR, 'README.md'), 'utf8')).sort()
  const actual = sourceFolders(join(PROJECT_DIR, 'src')).sort()
  t.ok(named.length > 0, 'the layout lists folders')
  t.strictSame(named, actual)
})

t.test('the README stays a guide: at most ~300 lines', async (t) => {
  const lines = readFileSync(join(PROJECT_DIR, 'README.md'), 'utf8').split('\n').length
  t.ok(lines <= 300, `${lines} lines`)
})
