// Generates wasm/fast/aes-tables.h, the sixteen-entry tables of wasm/fast/aes.c:
//   node wasm/fast/aes-tables.mjs > wasm/fast/aes-tables.h
// Every table is derived here from the field arithmetic, and the whole cipher is checked
// against a plain byte-wise AES (FIPS 197) before anything is printed. aes.c explains the method.

// GF(2^8) as AES defines it: polynomials over GF(2) modulo x^8 + x^4 + x^3 + x + 1.
function mul8(a, b) {
  let r = 0;
  for (; b; b >>= 1) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x11b;
  }
  return r;
}
function inv8(a) {
  if (a === 0) return 0;
  for (let b = 1; b < 256; b++) if (mul8(a, b) === 1) return b;
  throw new Error('no inverse');
}
// The S-box's affine map: M·x plus 0x63, M the circulant of FIPS 197 5.1.1.
const rotl8 = (x, n) => ((x << n) | (x >> (8 - n))) & 0xff;
const affM = (x) => x ^ rotl8(x, 1) ^ rotl8(x, 2) ^ rotl8(x, 3) ^ rotl8(x, 4);
const SBOX = Array.from({ length: 256 }, (_, x) => affM(inv8(x)) ^ 0x63);
const INV_SBOX = new Array(256);
SBOX.forEach((s, x) => { INV_SBOX[s] = x; });
const affMinv = (y) => { for (let x = 0; x < 256; x++) if (affM(x) === y) return x; throw new Error('M'); };

// GF(16) as polynomials modulo x^4 + x + 1.
function mul4(a, b) {
  let r = 0;
  for (; b; b >>= 1) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 0x10) a ^= 0x13;
  }
  return r;
}
const inv4 = (a) => { if (a === 0) return 0; for (let b = 1; b < 16; b++) if (mul4(a, b) === 1) return b; throw new Error('inv4'); };

// GF(2^8) again, as GF(16)[t] / (t^2 + t + z): an element is a·t + b, stored as (a << 4) | b.
// c is the constant of the inversion formula in aes.c, and z = 1/c must make t^2 + t + z
// irreducible (no root in GF(16)).
const irreducible = (z) => { for (let t = 0; t < 16; t++) if ((mul4(t, t) ^ t ^ z) === 0) return false; return true; };
let C = 2;
while (!irreducible(inv4(C))) C++;
const Z = inv4(C);
function mulT(x, y) {
  const a = x >> 4, b = x & 15, c = y >> 4, d = y & 15;
  const ac = mul4(a, c);
  return ((ac ^ mul4(a, d) ^ mul4(b, c)) << 4) | (mul4(ac, Z) ^ mul4(b, d));
}
// An isomorphism phi from AES's field to the tower field: the image g of AES's generator x must
// be a root of x^8 + x^4 + x^3 + x + 1; phi is then GF(2)-linear, bit i of a byte going to g^i.
const powT = (g, n) => { let r = 1; for (let i = 0; i < n; i++) r = mulT(r, g); return r; };
let G = 2;
while ((powT(G, 8) ^ powT(G, 4) ^ powT(G, 3) ^ G ^ 1) !== 0) G++;
const gp = Array.from({ length: 8 }, (_, i) => powT(G, i));
const phi = (x) => { let r = 0; for (let i = 0; i < 8; i++) if ((x >> i) & 1) r ^= gp[i]; return r; };
const PHI_INV = new Array(256);
for (let x = 0; x < 256; x++) PHI_INV[phi(x)] = x;
const phiInv = (e) => PHI_INV[e];
for (let x = 0; x < 256; x++) for (const y of [3, 0x57, 0xca]) {
  if (phi(mul8(x, y)) !== mulT(phi(x), phi(y))) throw new Error('phi is not a field isomorphism');
}

// The nibble coordinates the cipher works in: a·t + b is kept as (i << 4) | k, i = a/c, k = b.
const nib = (e) => (mul4(e >> 4, inv4(C)) << 4) | (e & 15);
// E: an AES byte (the input of an S-box) to its coordinates. Dn: a decryption state byte y,
// whose inverse S-box input is M^-1·y + 0x05, to the coordinates of M^-1·y.
const E = (x) => nib(phi(x));
const Dn = (y) => nib(phi(affMinv(y)));

// The inversion, as aes.c computes it with sixteen-entry lookups (swizzle: an index of 16 or more
// reads 0). 1/0 is "infinity", stored as 0x10, which stays out of range under xor with a nibble.
const INF = 0x10;
const INV = Array.from({ length: 16 }, (_, v) => (v === 0 ? INF : inv4(v)));
const CK = Array.from({ length: 16 }, (_, k) => (k === 0 ? INF : mul4(C, inv4(k))));
const swz = (table, i) => (i < 16 ? table[i] : 0);
// The inverse (as an element a·t + b of the tower field) is F1(io) + F2(jo), aes.c says why.
const oneOverC = inv4(C);
const F1 = (v) => { const q = swz(INV, v) & 15; return (v >= 16 ? 0 : (mul4(mul4(1 ^ C, oneOverC), q) << 4) | q); };
const F2 = (v) => (v >= 16 ? 0 : mul4(oneOverC, swz(INV, v) & 15) << 4);
function ioJo(x) {
  const i = x >> 4, k = x & 15, j = i ^ k;
  const ak = swz(CK, k);
  const io = j ^ swz(INV, swz(INV, i) ^ ak);
  const jo = i ^ swz(INV, swz(INV, j) ^ ak);
  return [io, jo];
}
for (let x = 0; x < 256; x++) {
  const [io, jo] = ioJo(E(x));
  if (phiInv(F1(io) ^ F2(jo)) !== inv8(x)) throw new Error(`inversion formula fails at ${x}`);
}

const T = (f) => Array.from({ length: 16 }, (_, v) => f(v));
const tables = {
  // Input: an AES byte's coordinates, from its low and high nibble (E is linear).
  enc_in_lo: T((v) => E(v)), enc_in_hi: T((v) => E(v << 4)),
  inv: INV, ck: CK,
  // Encryption rounds: the S-box's linear part M·x^-1 (A) and 2·A, back in coordinates E.
  enc_a1: T((v) => E(affM(phiInv(F1(v))))), enc_a2: T((v) => E(affM(phiInv(F2(v))))),
  enc_b1: T((v) => E(mul8(2, affM(phiInv(F1(v)))))), enc_b2: T((v) => E(mul8(2, affM(phiInv(F2(v)))))),
  // Last round: M·x^-1 as an AES byte.
  enc_o1: T((v) => affM(phiInv(F1(v)))), enc_o2: T((v) => affM(phiInv(F2(v)))),
  // Decryption: input coordinates Dn; rounds give e·x^-1 in Dn for InvMixColumns' e = 14, 11, 13, 9.
  dec_in_lo: T((v) => Dn(v)), dec_in_hi: T((v) => Dn(v << 4)),
  dec_e1: T((v) => Dn(mul8(14, phiInv(F1(v))))), dec_e2: T((v) => Dn(mul8(14, phiInv(F2(v))))),
  dec_b1: T((v) => Dn(mul8(11, phiInv(F1(v))))), dec_b2: T((v) => Dn(mul8(11, phiInv(F2(v))))),
  dec_d1: T((v) => Dn(mul8(13, phiInv(F1(v))))), dec_d2: T((v) => Dn(mul8(13, phiInv(F2(v))))),
  dec_9_1: T((v) => Dn(mul8(9, phiInv(F1(v))))), dec_9_2: T((v) => Dn(mul8(9, phiInv(F2(v))))),
  // Last decryption round: x^-1 as an AES byte.
  dec_o1: T((v) => phiInv(F1(v))), dec_o2: T((v) => phiInv(F2(v))),
};
// Constants the key schedule folds into round keys: E(0x63) after each encryption S-box, and
// the 0x05 of the inverse S-box input (M^-1·(y + 0x63) = M^-1·y + 0x05) in nibble coordinates.
const ENC_K63 = E(0x63);
const DEC_K05 = nib(phi(0x05));
if (affMinv(0x63) !== 0x05) throw new Error('M^-1(0x63)');

// ---- a model of aes.c, checked against FIPS 197 before anything is printed ----
const SR = [0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11];
const ISR = [0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3];
const ROT = (n) => Array.from({ length: 16 }, (_, i) => (i & ~3) | ((i + n) & 3));
const perm = (s, p) => p.map((i) => s[i]);
// Byte shuffles (out[i] = in[p[i]]): ShiftRows and its inverse, rotations of each column by
// 1, 2, 3 rows, and those rotations applied after (Inv)ShiftRows, in one shuffle.
const after = (first, then) => then.map((i) => first[i]);
const shuffles = {
  sr: SR, isr: ISR, rot1: ROT(1), rot2: ROT(2), rot3: ROT(3), sr_rot1: after(SR, ROT(1)), sr_rot3: after(SR, ROT(3)),
  isr_rot1: after(ISR, ROT(1)), isr_rot2: after(ISR, ROT(2)), isr_rot3: after(ISR, ROT(3)),
};
const xor = (a, b) => a.map((v, i) => v ^ b[i]);
const lin = (lo, hi) => (s) => s.map((b) => lo[b & 15] ^ hi[b >> 4]);
const mapb = (f) => (s) => s.map(f);
function keyExpand(key) {
  const nk = key.length / 4, nr = nk + 6, w = [];
  for (let i = 0; i < nk; i++) w.push(key.slice(4 * i, 4 * i + 4));
  let rcon = 1;
  for (let i = nk; i < 4 * (nr + 1); i++) {
    let t = w[i - 1].slice();
    if (i % nk === 0) { t = [SBOX[t[1]] ^ rcon, SBOX[t[2]], SBOX[t[3]], SBOX[t[0]]]; rcon = mul8(rcon, 2); }
    else if (nk > 6 && i % nk === 4) t = t.map((b) => SBOX[b]);
    w.push(w[i - nk].map((b, j) => b ^ t[j]));
  }
  const rk = [];
  for (let r = 0; r <= nr; r++) rk.push([].concat(w[4 * r], w[4 * r + 1], w[4 * r + 2], w[4 * r + 3]));
  return rk;
}
function refEncrypt(rk, p) {
  const nr = rk.length - 1;
  let s = xor(p, rk[0]);
  for (let r = 1; r <= nr; r++) {
    s = perm(s.map((b) => SBOX[b]), SR);
    if (r < nr) s = mixCol(s, [2, 3, 1, 1]);
    s = xor(s, rk[r]);
  }
  return s;
}
function mixCol(s, m) {
  return s.map((_, i) => { const c = i & ~3, r = i & 3; let v = 0; for (let k = 0; k < 4; k++) v ^= mul8(m[k], s[c + ((r + k) & 3)]); return v; });
}
function refDecrypt(rk, ct) {
  const nr = rk.length - 1;
  let s = xor(ct, rk[nr]);
  for (let r = nr - 1; r >= 0; r--) {
    s = perm(s, ISR).map((b) => INV_SBOX[b]);
    s = xor(s, rk[r]);
    if (r > 0) s = mixCol(s, [14, 11, 13, 9]);
  }
  return s;
}
// The model: the same steps as aes.c, on arrays.
function sboxRound(s) { return s.map((x) => ioJo(x)); }
function modelEncrypt(rk, p) {
  const nr = rk.length - 1;
  const toE = lin(tables.enc_in_lo, tables.enc_in_hi);
  const ek = rk.map((k, r) => (r === 0 ? toE(k) : r < nr ? toE(k.map((b) => b ^ 0x63)) : k.map((b) => b ^ 0x63)));
  let x = xor(toE(p), ek[0]);
  for (let r = 1; r < nr; r++) {
    const ij = sboxRound(x);
    const a = ij.map(([io, jo]) => swz(tables.enc_a1, io) ^ swz(tables.enc_a2, jo));
    const b = ij.map(([io, jo]) => swz(tables.enc_b1, io) ^ swz(tables.enc_b2, jo));
    const t = xor(perm(b, shuffles.sr), perm(a, shuffles.sr_rot1));
    x = xor(xor(xor(t, perm(t, shuffles.rot1)), perm(a, shuffles.sr_rot3)), ek[r]);
  }
  const ij = sboxRound(x);
  return xor(perm(ij.map(([io, jo]) => swz(tables.enc_o1, io) ^ swz(tables.enc_o2, jo)), shuffles.sr), ek[nr]);
}
function modelDecrypt(rk, c) {
  const nr = rk.length - 1;
  const toD = lin(tables.dec_in_lo, tables.dec_in_hi);
  const dk = [toD(rk[nr]).map((b) => b ^ DEC_K05)];
  for (let r = nr - 1; r >= 1; r--) dk.push(toD(mixCol(rk[r], [14, 11, 13, 9])).map((b) => b ^ DEC_K05));
  dk.push(rk[0]);
  let x = xor(toD(c), dk[0]);
  for (let r = 1; r < nr; r++) {
    const ij = sboxRound(x);
    const look = (t1, t2, p) => perm(ij.map(([io, jo]) => swz(t1, io) ^ swz(t2, jo)), p);
    const e = look(tables.dec_e1, tables.dec_e2, shuffles.isr), b = look(tables.dec_b1, tables.dec_b2, shuffles.isr_rot1);
    const d = look(tables.dec_d1, tables.dec_d2, shuffles.isr_rot2), n = look(tables.dec_9_1, tables.dec_9_2, shuffles.isr_rot3);
    x = xor(xor(xor(xor(e, b), d), n), dk[r]);
  }
  const ij = sboxRound(x);
  return xor(perm(ij.map(([io, jo]) => swz(tables.dec_o1, io) ^ swz(tables.dec_o2, jo)), shuffles.isr), dk[nr]);
}
const hex = (a) => a.map((b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (h) => h.match(/../g).map((x) => parseInt(x, 16));
// FIPS 197 appendix C.
const fips = [
  ['000102030405060708090a0b0c0d0e0f', '69c4e0d86a7b0430d8cdb78070b4c55a'],
  ['000102030405060708090a0b0c0d0e0f1011121314151617', 'dda97ca4864cdfe06eaf70a0ec0d7191'],
  ['000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', '8ea2b7ca516745bfeafc49904b496089'],
];
const pt = unhex('00112233445566778899aabbccddeeff');
for (const [k, c] of fips) {
  const rk = keyExpand(unhex(k));
  if (hex(refEncrypt(rk, pt)) !== c || hex(refDecrypt(rk, unhex(c))) !== hex(pt)) throw new Error('reference AES');
  if (hex(modelEncrypt(rk, pt)) !== c) throw new Error(`model encryption, key ${k}`);
  if (hex(modelDecrypt(rk, unhex(c))) !== hex(pt)) throw new Error(`model decryption, key ${k}`);
}

const out = [];
out.push('/* Generated by wasm/fast/aes-tables.mjs: do not edit. See wasm/fast/aes.c. */');
out.push(`/* GF(16) modulo x^4 + x + 1; GF(2^8) = GF(16)[t] / (t^2 + t + ${Z}); c = ${C}; AES's x maps to 0x${G.toString(16)}. */`);
for (const [name, t] of Object.entries(tables)) {
  out.push(`#define AES_T_${name.toUpperCase()} ${t.map((v) => `0x${v.toString(16).padStart(2, '0')}`).join(', ')}`);
}
for (const [name, p] of Object.entries(shuffles)) out.push(`#define AES_SH_${name.toUpperCase()} ${p.join(', ')}`);
out.push(`#define AES_ENC_K63 0x${ENC_K63.toString(16).padStart(2, '0')} /* E(0x63) */`);
out.push(`#define AES_DEC_K05 0x${DEC_K05.toString(16).padStart(2, '0')} /* coordinates of 0x05 */`);
process.stdout.write(out.join('\n') + '\n');
