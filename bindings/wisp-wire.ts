/**
 * Wisp's wire format (MercuryWorkshop's wisp-protocol, versions 1 and 2), shared by the client
 * (wisp.ts) and the relay's server side (relay-core.ts). Every packet is a type (u8), a stream
 * id (u32, little-endian) and a payload; all integers are little-endian.
 * @module
 */

export const CONNECT = 0x01;
export const DATA = 0x02;
export const CONTINUE = 0x03;
export const CLOSE = 0x04;
export const INFO = 0x05;
export const PACKET_NAMES: Record<number, string> = { 1: 'CONNECT', 2: 'DATA', 3: 'CONTINUE', 4: 'CLOSE', 5: 'INFO' };
export const STREAM_TCP = 0x01;
export const STREAM_UDP = 0x02;
/** The header: type (u8) + stream id (u32 little-endian). */
export const HEADER = 5;

/** Extension ids (v2 INFO). */
export const EXT_UDP = 0x01;
export const EXT_PASSWORD = 0x02;
export const EXT_KEY = 0x03;
export const EXT_MOTD = 0x04;

export const REASON_VOLUNTARY = 0x02;
export const REASON_CLIENT_ERROR = 0x81;
export const REASON_AUTH_FAILED = 0xc0;
export const REASON_AUTH_REQUIRED = 0xc2;

/** The WebSocket subprotocol a v2 client asks for. */
export const SUBPROTOCOL_V2 = 'wisp-v2';

export const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/** One packet: header and payload. */
export function packet(type: number, stream: number, payload: Uint8Array | number[] = []): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, stream, true);
  out.set(payload, HEADER);
  return out;
}

/** A CONTINUE packet granting `credit` DATA packets on `stream`. */
export function continuePacket(stream: number, credit: number): Uint8Array {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, credit, true);
  return packet(CONTINUE, stream, payload);
}

export const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
export const u16 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at, true);

/** One extension record of an INFO packet: id (u8), length (u32), data. */
export function extension(id: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = id;
  new DataView(out.buffer).setUint32(1, data.length, true);
  out.set(data, 5);
  return out;
}

/** An INFO payload: version 2.0 and these extension records. */
export function infoPayload(records: Uint8Array[]): Uint8Array {
  const body = new Uint8Array(2 + records.reduce((n, e) => n + e.length, 0));
  body[0] = 2;
  body[1] = 0;
  let at = 2;
  for (const e of records) {
    body.set(e, at);
    at += e.length;
  }
  return body;
}

/** The extension records of an INFO payload, or a message saying what is wrong with them. */
export function parseExtensions(payload: Uint8Array): Array<{ id: number; data: Uint8Array }> | string {
  if (payload.length < 2) return `an INFO packet of ${payload.length} bytes (needs at least 2)`;
  const out: Array<{ id: number; data: Uint8Array }> = [];
  for (let i = 2; i < payload.length;) {
    if (payload.length - i < 5) return 'an INFO packet whose last extension record is cut short';
    const id = payload[i];
    const len = u32(payload, i + 1);
    if (len > payload.length - i - 5) return `an INFO packet whose extension ${hex(id)} claims ${len} bytes but has ${payload.length - i - 5}`;
    out.push({ id, data: payload.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}
