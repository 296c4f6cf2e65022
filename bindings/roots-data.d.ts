// The types of dist/roots-data.js, which scripts/gen-roots.mjs writes at build time: the bundled
// root certificates' DER, one after another, deflated (raw DEFLATE) and base64-encoded.
/** The certificates' DER, concatenated, raw-deflated, base64. */
export declare const DEFLATED: string;
/** Bytes of DER once inflated. */
export declare const DER_SIZE: number;
/** Where they came from, how many, and the sha256 (first 16 hex digits) of their PEM text joined. */
export declare const SOURCE: { readonly source: string; readonly count: number; readonly sha256: string };
