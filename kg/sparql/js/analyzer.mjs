// The SPARQL analyzer ModelKG runs in an embedded V8 (mini-racer): Traqula's SPARQL 1.2 parser
// and algebra translation, and a walk over the algebra that reports what a guard decides on.
// Built into ../vendor/sparql-analyzer.js by build.mjs; see scripts/vendor_sparql_parser.sh.
//
// globalThis.modelkgAnalyze(text, base, prefixesJson, kind, wantReads) -> JSON text:
//   {"ok": false, "error": "...", "line": n, "column": n}
//   {"ok": true, "kind": "query", "form": "select"|"ask"|"construct"|"describe", "depth": n,
//    "services": [ref...], "dataset": bool, "volatile": bool, "reads": reads}
// `reads` (only when `wantReads` is "reads": the guards do not need it) is what the query's patterns can match (a CONSTRUCT's WHERE, not its template):
//   {"predicates": [iri...], "classes": [iri...], "any": bool}: the constant predicates of its
//   triple patterns and property paths, the constant classes of its `?x rdf:type <C>` patterns,
//   and whether some pattern matches any predicate (a variable predicate, a negated property
//   set). A triple none of these can match does not change the query's answer.
//   {"ok": true, "kind": "update", "depth": n, "services": [ref...], "operations": [op...]}
// A graph reference `ref` is ["iri", value] | ["var", name] | ["default"] | ["named"] | ["all"].
// An `op` is {"op": "load"|"clear"|"drop"|"create"|"add"|"move"|"copy"|"modify", "silent": bool,
//   "source": ref, "destination": ref, "insert": [ref...], "delete": [ref...], "dataset": bool}.
//
// globalThis.modelkgWithDataset(text, base, prefixesJson, defaultsJson, namedJson) -> JSON text:
//   {"ok": true, "text": "..."}: the update again, each DELETE/INSERT operation with USING <g>
//   for every default graph and USING NAMED <g> for every named graph the request gave
//   (SPARQL 1.1 Protocol's using-graph-uri / using-named-graph-uri), DELETE WHERE written out
//   as DELETE { Q } WHERE { Q } so it can take them; generated from the parsed terms by
//   Traqula's generator, never by pasting. {"ok": false, ...} as above.
// A V8 stack overflow (a deeply nested request) is a JavaScript RangeError: it comes back as
// {"ok": false}, never as a crash of the host process.
import { Parser } from '@traqula/parser-sparql-1-2';
import { toAlgebra } from '@traqula/algebra-sparql-1-2';
import { Generator } from '@traqula/generator-sparql-1-2';

// Errors with their position: Traqula's default handler builds a long message without it.
class SyntaxFault extends Error {
  constructor(message, offset) {
    super(message);
    this.offset = offset;
  }
}

function errorHandler(errors) {
  const first = errors[0];
  const token = first.token ?? {};
  const found = token.image ? `"${token.image}"` : 'the end of the request';
  const expected = String(first.message ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('Expecting'))
    .slice(0, 6)
    .join(' ')
    .replace(/[<>]/gu, '')
    .slice(0, 160);
  const offset = Number.isFinite(token.startOffset) ? token.startOffset : undefined;
  throw new SyntaxFault(`unexpected ${found}${expected ? `; expected one of ${expected}` : ''}`, offset);
}

const parser = new Parser({ errorHandler });
const generator = new Generator();

// Functions whose value changes from one evaluation to the next: such an answer is not cached.
const VOLATILE = new Set(['now', 'rand', 'uuid', 'struuid', 'bnode']);

function ref(term) {
  if (term === 'DEFAULT') return ['default'];
  if (term === 'NAMED') return ['named'];
  if (term === 'ALL') return ['all'];
  if (term === undefined || term === null) return ['default'];
  switch (term.termType) {
    case 'NamedNode': return ['iri', term.value];
    case 'Variable': return ['var', term.value];
    case 'DefaultGraph': return ['default'];
    default: return ['other', String(term.termType)];
  }
}

// Nesting depth, every SERVICE, and volatile functions, by an explicit stack: a walk that
// cannot overflow. It reads the algebra (`type` 'service', expressions of subType 'operator')
// or the syntax tree (a pattern of subType 'service', expressions of subType 'operation').
function walk(root) {
  const services = [];
  let depth = 0;
  let volatile = false;
  const stack = [[root, 1]];
  while (stack.length > 0) {
    const [node, level] = stack.pop();
    if (level > depth) depth = level;
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push([item, level + 1]);
      continue;
    }
    if (node.type === 'service' || (node.type === 'pattern' && node.subType === 'service')) {
      services.push(ref(node.name));
    }
    if (node.type === 'expression' && (node.subType === 'operator' || node.subType === 'operation')
      && VOLATILE.has(String(node.operator).toLowerCase())) volatile = true;
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (value !== null && typeof value === 'object') stack.push([value, level + 1]);
    }
  }
  return { services, depth, volatile };
}

const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';

// What the patterns under `root` can match (see `reads` above), by an explicit stack.
function readsOf(root) {
  const predicates = new Set();
  const classes = new Set();
  let any = false;
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push(item);
      continue;
    }
    if (node.type === 'pattern') {
      const { predicate, object } = node;
      if (predicate.termType !== 'NamedNode') any = true;
      else if (predicate.value === RDF_TYPE && object.termType === 'NamedNode') classes.add(object.value);
      else predicates.add(predicate.value);
    } else if (node.type === 'link') {
      predicates.add(node.iri.value);
    } else if (node.type === 'nps') {
      any = true;
    }
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (value !== null && typeof value === 'object') stack.push(value);
    }
  }
  return { predicates: [...predicates].sort(), classes: [...classes].sort(), any };
}

function graphsOf(quads) {
  const seen = new Map();
  for (const quad of quads ?? []) {
    const r = ref(quad.graph);
    seen.set(JSON.stringify(r), r);
  }
  return [...seen.values()];
}

function operation(algebra, ast) {
  const op = { op: algebra.type, silent: Boolean(algebra.silent) };
  if (algebra.type === 'deleteinsert') {
    op.op = 'modify';
    op.insert = graphsOf(algebra.insert);
    op.delete = graphsOf(algebra.delete);
    const clauses = ast?.operation?.from?.clauses ?? [];
    op.dataset = clauses.length > 0 || Boolean(ast?.operation?.graph);
    return op;
  }
  if ('source' in algebra) op.source = ref(algebra.source);
  if ('destination' in algebra) op.destination = ref(algebra.destination);
  return op;
}

function position(error, text) {
  let offset = error?.offset;
  if (error instanceof SyntaxFault && !Number.isFinite(offset)) offset = text.length;
  if (!Number.isFinite(offset)) {
    const match = /at offset: (\d+)/u.exec(String(error?.message ?? ''));
    if (!match) return {};
    offset = Number(match[1]);
  }
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

globalThis.modelkgAnalyze = function modelkgAnalyze(text, base, prefixesJson, kind, wantReads) {
  try {
    const prefixes = JSON.parse(prefixesJson);
    const context = { prefixes };
    if (base) context.baseIRI = base;
    const ast = parser.parse(text, context);
    const isUpdate = ast.type === 'update';
    if (kind === 'query' && isUpdate) return JSON.stringify({ ok: false, error: 'this is an update, not a query', wrongKind: true });
    if (kind === 'update' && !isUpdate) return JSON.stringify({ ok: false, error: 'this is a query, not an update', wrongKind: true });
    const translated = () => toAlgebra(ast, { quads: true, baseIRI: base || undefined, prefixes });
    if (!isUpdate) {
      // What a guard decides a query on is in its syntax: SERVICE and the volatile functions.
      // The algebra (a third of the cost) is made only for `reads`, and to name a SERVICE by
      // its resolved IRI.
      let facts = walk(ast);
      let reads;
      if (facts.services.length > 0 || wantReads === 'reads') {
        const algebra = translated();
        facts = walk(algebra);
        if (wantReads === 'reads') reads = readsOf(algebra.type === 'construct' ? algebra.input : algebra);
      }
      const clauses = ast.datasets?.clauses ?? [];
      return JSON.stringify({
        ok: true, kind: 'query', form: ast.subType, ...facts, dataset: clauses.length > 0, reads,
      });
    }
    const algebra = translated();
    const { services, depth } = walk(algebra);
    const ops = algebra.type === 'compositeupdate' ? algebra.updates : (algebra.type === 'nop' ? [] : [algebra]);
    const asts = ast.updates.filter((u) => u.operation);
    const operations = ops.map((o, i) => operation(o, asts[i]));
    return JSON.stringify({ ok: true, kind: 'update', depth, services, operations });
  } catch (error) {
    const message = String(error?.message ?? error);
    return JSON.stringify({ ok: false, error: message, ...position(error, text) });
  }
};

// Nodes made here, not parsed: the generator writes them out afresh.
const generated = () => ({ sourceLocationType: 'autoGenerate' });

function namedNode(iri) {
  return { type: 'term', subType: 'namedNode', value: iri, loc: generated() };
}

// DELETE WHERE { Q } is DELETE { Q } WHERE { Q } (SPARQL 1.1 Update 3.1.3.3), written out.
function writtenOut(operation) {
  const where = operation.data.map((part) => (part.type === 'graph'
    ? { type: 'pattern', subType: 'graph', name: part.graph, patterns: [part.triples], loc: generated() }
    : part));
  return {
    type: 'updateOperation',
    subType: 'modify',
    insert: [],
    delete: operation.data,
    where: { type: 'pattern', subType: 'group', patterns: where, loc: generated() },
    from: { type: 'datasetClauses', clauses: [], loc: generated() },
    loc: generated(),
  };
}

globalThis.modelkgWithDataset = function modelkgWithDataset(text, base, prefixesJson, defaultsJson, namedJson) {
  try {
    const context = { prefixes: JSON.parse(prefixesJson) };
    if (base) context.baseIRI = base;
    const ast = parser.parse(text, context);
    if (ast.type !== 'update') return JSON.stringify({ ok: false, error: 'this is a query, not an update', wrongKind: true });
    const clauses = [
      ...JSON.parse(defaultsJson).map((iri) => ({ clauseType: 'default', value: namedNode(iri) })),
      ...JSON.parse(namedJson).map((iri) => ({ clauseType: 'named', value: namedNode(iri) })),
    ];
    for (const update of ast.updates) {
      if (!update.operation) continue;
      if (update.operation.subType === 'deletewhere') update.operation = writtenOut(update.operation);
      if (update.operation.subType === 'modify') {
        update.operation.from = { type: 'datasetClauses', clauses: [...clauses], loc: generated() };
      }
    }
    return JSON.stringify({ ok: true, text: generator.generate(ast) });
  } catch (error) {
    return JSON.stringify({ ok: false, error: String(error?.message ?? error), ...position(error, text) });
  }
};
