// Bundle analyzer.mjs with Traqula for an embedded V8, with two fixes to Traqula 1.3.1 that a
// guard needs (each asserted, so an upgrade that changes the code fails the build loudly):
// 1. relative IRIs resolved by RFC 3986 (relative-to-absolute-iri), not by Traqula's shortcut,
//    which keeps `..` segments and misreads `//host/x`: `BASE <a/b/> <../c>` is `<a/c>`, as
//    Oxigraph (the engine that runs the request) resolves it;
// 2. a prefixed name's local part unescaped (`g:a\/b` is `<...a/b>`, SPARQL's PN_LOCAL_ESC).
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';

const patches = [
  {
    file: /algebra-transformations-1-1[\\/]dist[\\/]esm[\\/]lib[\\/]util\.js$/,
    find: 'export function resolveIRI(iri, base) {',
    replace: 'function traqulaResolveIRI(iri, base) {',
    append: `
import { resolve as resolveRfc3986 } from 'relative-to-absolute-iri';
export function resolveIRI(iri, base) {
    if (/^[a-z][\\d+.a-z-]*:/iu.test(iri)) {
        return iri;
    }
    if (!base) {
        throw new Error(\`Cannot resolve relative IRI <\${iri}> because no base IRI was set.\`);
    }
    return resolveRfc3986(iri, base);
}
`,
  },
  {
    file: /algebra-transformations-1-1[\\/]dist[\\/]esm[\\/]lib[\\/]toAlgebra[\\/]general\.js$/,
    find: 'fullIri = expanded + term.value;',
    replace: "fullIri = expanded + term.value.replace(/\\\\([_~.\\-!$&'()*+,;=/?#@%])/gu, '$1');",
    append: '',
  },
];

const applied = new Set();
const patchPlugin = {
  name: 'modelkg-traqula-fixes',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      const patch = patches.find((p) => p.file.test(args.path));
      if (!patch) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (source.split(patch.find).length !== 2) {
        throw new Error(`patch target not found exactly once in ${args.path}: ${patch.find}`);
      }
      applied.add(patch.find);
      return { contents: source.replace(patch.find, patch.replace) + patch.append, loader: 'js' };
    });
  },
};

await build({
  entryPoints: ['analyzer.mjs'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'eof',
  outfile: process.argv[2] ?? '../vendor/sparql-analyzer.js',
  plugins: [patchPlugin],
  logLevel: 'warning',
});
if (applied.size !== patches.length) {
  throw new Error(`only ${applied.size} of ${patches.length} patches applied`);
}
