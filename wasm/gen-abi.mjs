// Reads a module's ABI header, the one declaration of its exports, and writes what is derived
// from it. For wasm/abi.h (the OpenSSL modules, the default `--module production`):
//   bindings/abi.ts                   the typed exports, status values, struct layouts and each
//                                     function's wasm signature, for the bindings and the tests
//   wasm/build/exports-production.json  emcc's export list for openssl.wasm / openssl-full.wasm
//   wasm/build/exports-testing.json     the same plus the OW_TESTING_API functions
// For another module's header, `--module NAME` (wasm/http/abi.h with `--module http`): the same
// typed view, its exports named `<Name>Exports` and `<NAME>_SIGNATURES`, and exports-NAME.json.
// Usage: node wasm/gen-abi.mjs [--module NAME] wasm/abi.h bindings/abi.ts wasm/build
// It refuses C types it does not know, so the TypeScript side can never be guessed wrong.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const moduleAt = args.indexOf('--module');
const moduleName = moduleAt >= 0 ? args.splice(moduleAt, 2)[1] : 'production';
const [header, tsOut, buildDir] = args;
if (!header || !tsOut || !buildDir || !/^[a-z]+$/.test(moduleName ?? '')) {
  console.error('usage: node wasm/gen-abi.mjs [--module NAME] wasm/abi.h bindings/abi.ts wasm/build');
  process.exit(2);
}
const production = moduleName === 'production';
const source = readFileSync(header, 'utf8');

/** Fails the build with the header's line number. */
function die(message, index) {
  const line = index === undefined ? '' : `:${source.slice(0, index).split('\n').length}`;
  console.error(`gen-abi: ${header}${line}: ${message}`);
  process.exit(1);
}

const pascal = (s) => s.replace(/(^|_)([a-z0-9])/g, (_, __, c) => c.toUpperCase());

// Object handles, made by *_new and freed by *_free: every opaque `typedef struct x ow_y;` of
// the header, as a branded pointer type named after it (ow_conn: ConnPtr).
const HANDLES = Object.fromEntries([...source.matchAll(/^typedef struct \w+ (ow_\w+);$/gm)]
  .map((m) => [m[1], `${pascal(m[1].replace(/^ow_/, ''))}Ptr`]));

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
// Any other enum (ow_event_kind): a const object named after it, its members without their
// common prefix (OW_EV_).
const enums = [...source.matchAll(/typedef enum (ow_\w+) \{([\s\S]*?)\} \1;/g)].filter((m) => m[1] !== 'ow_status').map((m) => {
  const members = [...m[2].matchAll(/\b(OW_\w+)\s*=\s*(-?\d+)/g)].map((e) => [e[1], Number(e[2])]);
  const prefix = members.reduce((p, [n]) => { while (!n.startsWith(p)) p = p.slice(0, p.lastIndexOf('_', p.length - 2) + 1); return p; }, members[0]?.[0] ?? '');
  return { name: pascal(m[1].replace(/^ow_/, '')), members: members.map(([n, v]) => [n.slice(prefix.length), v]) };
});

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

const ts = `// Generated by wasm/gen-abi.mjs from ${header} at build time: edit the header, not this file.
/**
 * The typed view of the module's exports, derived from \`${header}\`. Private to the package:
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
${Object.entries(HANDLES).map(([c, t]) => `export type ${t} = Pointer<'${c}'>;`).join('\n')}
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

${enums.length === 0 ? '' : enums.map((e) => `/** \`ow_${e.name.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase())}\`. */
export const ${e.name} = {
${e.members.map(([n, v]) => `  ${n}: ${v},`).join('\n')}
} as const;
`).join('\n') + '\n'}${production ? `/** The production modules' exports. */
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
` : `/** The ${moduleName} module's exports. */
export interface ${pascal(moduleName)}Exports {
  readonly memory: WebAssembly.Memory;
  _initialize?(): void;
${functions.map(declare).join('\n')}
}

/**
 * Each export's wasm signature, "params:result" with i for i32 and f for f64: what
 * test/abi.test.js compares with the built module, which exports exactly these.
 */
export const ${moduleName.toUpperCase()}_SIGNATURES = {
${functions.map((f) => `  ${f.name}: '${f.signature}',`).join('\n')}
} as const;
`}`;

writeFileSync(tsOut, ts);
mkdirSync(buildDir, { recursive: true });
const exportList = (fs) => JSON.stringify(fs.map((f) => `_${f.name}`)) + '\n';
if (production) {
  writeFileSync(join(buildDir, 'exports-production.json'), exportList(functions.filter((f) => !f.testing)));
  writeFileSync(join(buildDir, 'exports-testing.json'), exportList(functions));
} else {
  if (functions.some((f) => f.testing)) die(`OW_TESTING_API is for wasm/abi.h only; the ${moduleName} module has one export list`);
  writeFileSync(join(buildDir, `exports-${moduleName}.json`), exportList(functions));
}
