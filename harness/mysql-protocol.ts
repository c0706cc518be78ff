/**
 * The few packets of the MySQL client/server protocol that the harness's front speaks itself: the
 * connection phase (greeting, TLS request, handshake response, auth switch, OK and ERR), and of the
 * command phase the command byte and the status flags of OK and EOF packets, which say whether a
 * session is inside a transaction (multiplexer.ts).
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html
 * https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html
 */
import { createHash } from "node:crypto";
import type { Duplex } from "node:stream";

export const Capability = {
  CONNECT_WITH_DB: 1 << 3,
  COMPRESS: 1 << 5,
  PROTOCOL_41: 1 << 9,
  SSL: 1 << 11,
  SECURE_CONNECTION: 1 << 15,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  /** Result sets end with an OK packet (header 0xfe) instead of an EOF packet. */
  DEPRECATE_EOF: 1 << 24,
} as const;

/** The first byte of a command-phase packet from the client. */
export const Command = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  PING: 0x0e,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  STMT_FETCH: 0x1c,
} as const;

/** Status flags of OK and EOF packets. */
export const ServerStatus = {
  IN_TRANS: 0x0001,
  AUTOCOMMIT: 0x0002,
  MORE_RESULTS_EXISTS: 0x0008,
} as const;

/** A packet's payload is at most this long; a longer one continues in the next packet. */
export const MAX_PAYLOAD = 0xffffff;

export const NATIVE_PASSWORD = "mysql_native_password";
export const CLEAR_PASSWORD = "mysql_clear_password";

export interface Packet {
  sequence: number;
  payload: Buffer;
}

export const isOk = (payload: Buffer) => payload[0] === 0x00;
export const isErr = (payload: Buffer) => payload[0] === 0xff;
export const isAuthSwitch = (payload: Buffer) => payload[0] === 0xfe;

/** Reads whole packets from a socket; `detach` hands back what was read beyond the last one. */
export class PacketReader {
  private buffered = Buffer.alloc(0);
  private waiting: { resolve: (packet: Packet) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.deliver();
  };
  private readonly onEnd = (error?: Error) => {
    this.failure ??= error ?? new Error("connection closed");
    this.deliver();
  };

  constructor(private readonly socket: Duplex) {
    socket.on("data", this.onData).on("close", this.onEnd).on("error", this.onEnd);
  }

  next(): Promise<Packet> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  detach(): Buffer {
    this.socket.off("data", this.onData).off("close", this.onEnd).off("error", this.onEnd);
    return this.buffered;
  }

  private deliver(): void {
    if (!this.waiting) return;
    const { resolve, reject } = this.waiting;
    if (this.buffered.length >= 4) {
      const length = this.buffered.readUIntLE(0, 3);
      if (this.buffered.length >= 4 + length) {
        this.waiting = undefined;
        const packet = { sequence: this.buffered[3], payload: this.buffered.subarray(4, 4 + length) };
        this.buffered = this.buffered.subarray(4 + length);
        resolve(packet);
        return;
      }
    }
    if (this.failure) {
      this.waiting = undefined;
      reject(this.failure);
    }
  }
}

export function writePacket(socket: Duplex, sequence: number, payload: Buffer): void {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = sequence & 0xff;
  socket.write(Buffer.concat([header, payload]));
}

const cString = (text: string) => Buffer.from(`${text}\0`, "utf8");

function readCString(payload: Buffer, offset: number): [string, number] {
  const end = payload.indexOf(0, offset);
  const stop = end < 0 ? payload.length : end;
  return [payload.toString("utf8", offset, stop), stop + 1];
}

export function readLengthEncoded(payload: Buffer, offset: number): [number, number] {
  const first = payload[offset];
  if (first < 0xfb) return [first, offset + 1];
  if (first === 0xfc) return [payload.readUInt16LE(offset + 1), offset + 3];
  if (first === 0xfd) return [payload.readUIntLE(offset + 1, 3), offset + 4];
  return [Number(payload.readBigUInt64LE(offset + 1)), offset + 9];
}

function lengthEncoded(data: Buffer): Buffer {
  if (data.length < 0xfb) return Buffer.concat([Buffer.from([data.length]), data]);
  const length = Buffer.alloc(3);
  length.writeUInt16LE(data.length, 1);
  length[0] = 0xfc;
  return Buffer.concat([length, data]);
}

/** The server's first packet (Protocol::HandshakeV10). */
export interface Greeting {
  serverVersion: string;
  connectionId: number;
  capabilities: number;
  charset: number;
  status: number;
  /** 20 bytes of nonce for the password plugins. */
  scramble: Buffer;
  authPlugin: string;
}

export function parseGreeting(payload: Buffer): Greeting {
  if (payload[0] !== 10) throw new Error(`unexpected greeting (protocol ${payload[0]})`);
  const [serverVersion, afterVersion] = readCString(payload, 1);
  let offset = afterVersion;
  const connectionId = payload.readUInt32LE(offset);
  const scramble1 = payload.subarray(offset + 4, offset + 12);
  offset += 13;
  const capabilitiesLow = payload.readUInt16LE(offset);
  const charset = payload[offset + 2];
  const status = payload.readUInt16LE(offset + 3);
  const capabilities = (capabilitiesLow | (payload.readUInt16LE(offset + 5) << 16)) >>> 0;
  const scrambleLength = payload[offset + 7];
  offset += 18;
  const part2Length = Math.max(13, scrambleLength - 8);
  const scramble2 = payload.subarray(offset, offset + part2Length - 1);
  const [authPlugin] = readCString(payload, offset + part2Length);
  return { serverVersion, connectionId, capabilities, charset, status, scramble: Buffer.concat([scramble1, scramble2]), authPlugin };
}

export function greetingPacket(greeting: Greeting): Buffer {
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
  fixed.writeUInt32LE(greeting.connectionId, 0);
  greeting.scramble.copy(fixed, 4, 0, 8);
  fixed.writeUInt16LE(greeting.capabilities & 0xffff, 13);
  fixed[15] = greeting.charset;
  fixed.writeUInt16LE(greeting.status, 16);
  fixed.writeUInt16LE(greeting.capabilities >>> 16, 18);
  fixed[20] = greeting.scramble.length + 1;
  return Buffer.concat([
    Buffer.from([10]),
    cString(greeting.serverVersion),
    fixed,
    greeting.scramble.subarray(8),
    Buffer.from([0]),
    cString(greeting.authPlugin),
  ]);
}

/** The client's answer to the greeting (Protocol::HandshakeResponse41), or its request to start TLS first. */
export interface HandshakeResponse {
  capabilities: number;
  maxPacketSize: number;
  charset: number;
  user: string;
  authResponse: Buffer;
  database?: string;
  authPlugin?: string;
  /** The connection attributes as sent, length prefix included. */
  attributes?: Buffer;
}

/** An SSLRequest is the first 32 bytes of a handshake response, with CLIENT_SSL set. */
export const isTlsRequest = (payload: Buffer) => payload.length === 32 && (payload.readUInt32LE(0) & Capability.SSL) !== 0;

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const capabilities = payload.readUInt32LE(0);
  if (!(capabilities & Capability.PROTOCOL_41)) throw new Error("client does not speak protocol 4.1");
  const [user, afterUser] = readCString(payload, 32);
  let offset = afterUser;
  let authLength: number;
  if (capabilities & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) [authLength, offset] = readLengthEncoded(payload, offset);
  else [authLength, offset] = [payload[offset], offset + 1];
  const response: HandshakeResponse = {
    capabilities,
    maxPacketSize: payload.readUInt32LE(4),
    charset: payload[8],
    user,
    authResponse: payload.subarray(offset, offset + authLength),
  };
  offset += authLength;
  if (capabilities & Capability.CONNECT_WITH_DB && offset < payload.length) [response.database, offset] = readCString(payload, offset);
  if (capabilities & Capability.PLUGIN_AUTH && offset < payload.length) [response.authPlugin, offset] = readCString(payload, offset);
  if (capabilities & Capability.CONNECT_ATTRS && offset < payload.length) response.attributes = payload.subarray(offset);
  return response;
}

function responseHeader(capabilities: number, maxPacketSize: number, charset: number): Buffer {
  // The 23 filler bytes stay zero: no MariaDB extended capabilities are negotiated through the front.
  const header = Buffer.alloc(32);
  header.writeUInt32LE(capabilities >>> 0, 0);
  header.writeUInt32LE(maxPacketSize, 4);
  header[8] = charset;
  return header;
}

export const tlsRequestPacket = (response: HandshakeResponse) =>
  responseHeader(response.capabilities | Capability.SSL, response.maxPacketSize, response.charset);

export function handshakeResponsePacket(response: HandshakeResponse): Buffer {
  const caps = response.capabilities;
  return Buffer.concat([
    responseHeader(caps, response.maxPacketSize, response.charset),
    cString(response.user),
    caps & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA
      ? lengthEncoded(response.authResponse)
      : Buffer.concat([Buffer.from([response.authResponse.length]), response.authResponse]),
    caps & Capability.CONNECT_WITH_DB ? cString(response.database ?? "") : Buffer.alloc(0),
    caps & Capability.PLUGIN_AUTH ? cString(response.authPlugin ?? NATIVE_PASSWORD) : Buffer.alloc(0),
    caps & Capability.CONNECT_ATTRS ? (response.attributes ?? Buffer.from([0])) : Buffer.alloc(0),
  ]);
}

export const authSwitchPacket = (plugin: string, data: Buffer) => Buffer.concat([Buffer.from([0xfe]), cString(plugin), data]);

export function parseAuthSwitch(payload: Buffer): { plugin: string; data: Buffer } {
  const [plugin, offset] = readCString(payload, 1);
  // The nonce is NUL-terminated on the wire.
  const data = payload.subarray(offset);
  return { plugin, data: data[data.length - 1] === 0 ? data.subarray(0, -1) : data };
}

/** An OK packet with no rows affected, as after a login. */
export function okPacket(status: number): Buffer {
  const packet = Buffer.alloc(7);
  packet.writeUInt16LE(status, 3);
  return packet;
}

/** The status flags of an OK packet (0x00, or 0xfe ending a result set with DEPRECATE_EOF) or of an EOF packet. */
export function statusFlags(payload: Buffer): number {
  if (payload[0] === 0xfe && payload.length < 9) return payload.readUInt16LE(3);
  const [, afterRows] = readLengthEncoded(payload, 1);
  const [, afterId] = readLengthEncoded(payload, afterRows);
  return payload.readUInt16LE(afterId);
}

/** A result set's last packet: EOF, or an OK with header 0xfe (a row starting 0xfe is a packet of 16 MB or more). */
export const isEndOfRows = (payload: Buffer) => payload[0] === 0xfe && payload.length < MAX_PAYLOAD;

export function errPacket(code: number, sqlState: string, message: string): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0xff;
  head.writeUInt16LE(code, 1);
  return Buffer.concat([head, Buffer.from(`#${sqlState}${message}`, "utf8")]);
}

/** mysql_native_password's answer to a nonce: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))). */
export function nativePasswordResponse(password: string, scramble: Buffer): Buffer {
  const sha1 = (...parts: Buffer[]) => parts.reduce((hash, part) => hash.update(part), createHash("sha1")).digest();
  const stage1 = sha1(Buffer.from(password, "utf8"));
  const mask = sha1(scramble.subarray(0, 20), sha1(stage1));
  return Buffer.from(stage1.map((byte, i) => byte ^ mask[i]));
}
