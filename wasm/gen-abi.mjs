// Reads wasm/abi.h, the one declaration of the module's ABI, and writes what is derived from it:
//   bindings/abi.ts                   the typed exports, status values, struct layouts and each
//                                     function's wasm signature, for the bindings and the tests
//   wasm/build/exports-production.json  emcc's export list for openssl.wasm / openssl-full.wasm
//   wasm/build/exports-testing.json     the same plus the OW_TESTING_API functions
// Usage: node wasm/gen-abi.mjs wasm/abi.h bindings/abi.ts wasm/build
// It refuses C types it does not know, so the TypeScript side can never be guessed wrong.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [header, tsOut, buildDir] = process.argv.slice(2);
if (!header || !tsOut || !buildDir) {
  console.error('usage: node wasm/gen-abi.mjs wasm/abi.h bindings/abi.ts wasm/build');
  process.exit(2);
}
const source = readFileSync(header, 'utf8');

/** Fails the build with the header's line number. */
function die(message, index) {
  const line = index === undefined ? '' : `:${source.slice(0, index).split('\n').length}`;
  console.error(`gen-abi: ${header}${line}: ${message}`);
  process.exit(1);
}

// Object handles: made by *_new, freed by *_free.
const HANDLES = {
  ow_ctx: 'CtxPtr', ow_conn: 'ConnPtr', ow_store: 'StorePtr', ow_x509: 'X509Ptr', ow_key: 'KeyPtr',
};

/**
 * One C type (with its OW_OWNED / OW_BORROWED marker, if any) as [wasm kind, TS type], for a
 * parameter or a result. Pointers are i32 in wasm32.
 */
function mapType(raw, role, index) {
  const owned = /\bOW_OWNED\b/.test(raw);
  const borrowed = /\bOW_BORROWED\b/.test(raw);
  const t = raw.replace(/\bOW_(OWNED|BORROWED)\b/g, '').replace(/\s+/g, ' ').replace(/\s*\*/g, '*').trim();
  if (t === 'void') return role === 'result' ? ['', 'void'] : die(`a void parameter`, index);
  const scalars = { ow_status: 'Status', ow_count: 'number', int32_t: 'number', uint32_t: 'number', size_t: 'number', double: 'number' };
  if (t in scalars) {
    if (owned || borrowed) die(`${t} is not a pointer: no OW_OWNED/OW_BORROWED`, index);
    return [t === 'double' ? 'f64' : 'i32', scalars[t]];
  }
  const ptr = /^(const )?(\w+)\*$/.exec(t);
  const ptr2 = /^(const )?(\w+)\*\*$/.exec(t);
  if (ptr2 && role === 'param') return ['i32', 'OutPtr'];
  if (!ptr) die(`type '${raw.trim()}' is not one gen-abi.mjs knows`, index);
  const base = ptr[2];
  if (base in HANDLES) {
    if (owned || borrowed) die(`${base} * is an object handle, freed by its own _free: no marker`, index);
    return ['i32', HANDLES[base]];
  }
  // A non-const size_t * parameter is an out-parameter the call writes.
  if (role === 'param' && base === 'size_t' && !ptr[1]) return ['i32', 'OutPtr'];
  const pointee = { char: "'char'", uint8_t: "'uint8_t'", int32_t: "'int32_t'", void: 'string', ow_conn_info: "'ow_conn_info'" }[base];
  if (pointee === undefined) die(`pointer to '${base}' is not one gen-abi.mjs knows`, index);
  if (role === 'param') {
    if (owned || borrowed) die('OW_OWNED/OW_BORROWED mark results, not parameters', index);
    return ['i32', `Pointer<${pointee}>`];
  }
  if (owned === borrowed) die(`a returned pointer must be marked OW_OWNED or OW_BORROWED: '${raw.trim()}'`, index);
  return ['i32', `${owned ? 'Owned' : 'Borrowed'}<${pointee}>`];
}

// The comment block that ends right before `index`, as documentation lines.
function docBefore(index) {
  const before = source.slice(0, index).replace(/\s+$/, '');
  if (!before.endsWith('*/')) return [];
  const start = before.lastIndexOf('/*');
  return before.slice(start + 2, -2).split('\n').map((l) => l.replace(/^\s*\*? ?/, '').trimEnd()).filter((l, i, a) => l || (i > 0 && i < a.length - 1));
}

// --- the status enum
const enumMatch = /typedef enum ow_status \{([\s\S]*?)\} ow_status;/.exec(source);
if (!enumMatch) die('no typedef enum ow_status');
const statuses = [...enumMatch[1].matchAll(/\bOW_(\w+)\s*=\s*(-?\d+)/g)].map((m) => [m[1], Number(m[2])]);
const values = statuses.map(([, v]) => v);
if (new Set(values).size !== values.length) die('two ow_status names share a value');

// --- structs: every field 32 bits, laid out in order
const structs = [];
for (const m of source.matchAll(/typedef struct (\w+) \{([\s\S]*?)\} \1;/g)) {
  const fields = [];
  for (const line of m[2].split('\n')) {
    const code = line.replace(/\/\*.*?\*\//g, '').trim();
    if (!code) continue;
    const f = /^(.*?)(\w+);$/.exec(code);
    if (!f) die(`cannot read struct field '${code}'`, m.index);
    const type = f[1].trim();
    const kind = /\bOW_BORROWED\b/.test(type) && /char \*$/.test(type) ? 'cstring'
      : /\*$/.test(type) ? 'pointer' : type === 'int32_t' ? 'i32' : die(`struct field type '${type}' is not 32 bits`, m.index);
    fields.push({ name: f[2], kind, offset: fields.length * 4 });
  }
  structs.push({ name: m[1], fields, size: fields.length * 4 });
}

// --- functions
const functions = [];
const declRe = /^(OW_API|OW_TESTING_API) (.+?)\b(ow_\w+)\((.*)\);$/gm;
for (const m of source.matchAll(declRe)) {
  const [, marker, ret, name, paramText] = m;
  const [resultKind, resultTs] = mapType(ret, 'result', m.index);
  const params = paramText.trim() === 'void' ? [] : paramText.split(',').map((p) => {
    const pm = /^(.*?)(\w+)$/.exec(p.trim());
    if (!pm) die(`cannot read parameter '${p.trim()}' of ${name}`, m.index);
    const [kind, ts] = mapType(pm[1], 'param', m.index);
    return { name: pm[2], kind, ts };
  });
  if (functions.some((f) => f.name === name)) die(`${name} is declared twice`, m.index);
  functions.push({
    name, testing: marker === 'OW_TESTING_API', params, resultKind, resultTs, doc: docBefore(m.index),
    signature: `${params.map((p) => p.kind[0]).join('')}:${resultKind[0] ?? ''}`,
  });
}
// Every OW_API line must have been understood: a declaration the regex skipped would be a
// function the module exports but the bindings do not know.
const markerLines = source.split('\n').filter((l) => /^OW_(TESTING_)?API /.test(l)).length;
if (markerLines !== functions.length) die(`${markerLines} OW_API lines but ${functions.length} declarations read: keep each on one line`);

const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const jsdoc = (lines, indent) => lines.length === 0 ? ''
  : `${indent}/**\n${lines.map((l) => `${indent} *${l ? ' ' + l : ''}`).join('\n')}\n${indent} */\n`;

const declare = (f) => `${jsdoc(f.doc, '  ')}  ${f.name}(${f.params.map((p) => `${p.name}: ${p.ts}`).join(', ')}): ${f.resultTs};`;

const ts = `// Generated by wasm/gen-abi.mjs from wasm/abi.h at build time: edit the header, not this file.
/**
 * The typed view of the module's exports, derived from \`wasm/abi.h\`. Private to the package:
 * the ABI may change between releases; use the classes the package exports.
 * @module
 */

/** A wasm address, branded by what it points at, so a connection cannot be passed as a context. */
export type Pointer<T extends string> = number & { readonly __pointee: T };
/** A pointer the caller must free (with \`Heap.free\`), marked OW_OWNED in the header. */
export type Owned<T extends string> = Pointer<T> & { readonly __owned: true };
/** A pointer into the module's or an object's memory, marked OW_BORROWED: read it, never free it. */
export type Borrowed<T extends string> = Pointer<T> & { readonly __borrowed: true };
/** The address of an out-parameter the call writes (on success only). */
export type OutPtr = Pointer<'out'>;
export type CtxPtr = Pointer<'ow_ctx'>;
export type ConnPtr = Pointer<'ow_conn'>;
export type StorePtr = Pointer<'ow_store'>;
export type X509Ptr = Pointer<'ow_x509'>;
export type KeyPtr = Pointer<'ow_key'>;
export type BytePtr = Pointer<'uint8_t'>;
export type CStr = Pointer<'char'>;
export const NULL = 0 as never;

/** The status vocabulary (\`ow_status\`): no value means two things. */
export const Status = {
${statuses.map(([n, v]) => `  ${n}: ${v},`).join('\n')}
} as const;
export type Status = (typeof Status)[keyof typeof Status];

${structs.map((s) => `/** Layout of \`${s.name}\`: byte offset and kind of each field. */
export const ${s.name.replace(/^ow_/, '').toUpperCase()} = {
  size: ${s.size},
${s.fields.map((f) => `  ${camel(f.name)}: { offset: ${f.offset}, kind: '${f.kind}' },`).join('\n')}
} as const;`).join('\n\n')}

/** The production modules' exports. */
export interface ShimExports {
  /** The module's memory (typed by shape, so that the declarations need no DOM lib). */
  readonly memory: { readonly buffer: ArrayBuffer };
  _initialize?(): void;
${functions.filter((f) => !f.testing).map(declare).join('\n')}
}

/** The testing module's exports: the production ones and the test PKI's. */
export interface TestingExports extends ShimExports {
${functions.filter((f) => f.testing).map(declare).join('\n')}
}

/**
 * Each export's wasm signature, "params:result" with i for i32 and f for f64: what
 * test/abi.test.js compares with every built module. Production modules export exactly the
 * first list; the testing module both.
 */
export const PRODUCTION_SIGNATURES = {
${functions.filter((f) => !f.testing).map((f) => `  ${f.name}: '${f.signature}',`).join('\n')}
} as const;
export const TESTING_SIGNATURES = {
${functions.filter((f) => f.testing).map((f) => `  ${f.name}: '${f.signature}',`).join('\n')}
} as const;
`;

writeFileSync(tsOut, ts);
mkdirSync(buildDir, { recursive: true });
const exportList = (fs) => JSON.stringify(fs.map((f) => `_${f.name}`)) + '\n';
writeFileSync(join(buildDir, 'exports-production.json'), exportList(functions.filter((f) => !f.testing)));
writeFileSync(join(buildDir, 'exports-testing.json'), exportList(functions));
