/**
 * The front's own login to MariaDB, as the user the client's token named, with the password only the
 * front knows: over TLS when asked (with the client's TLS version and cipher, so the server session
 * reports what the client negotiated), then mysql_native_password.
 */
import { type Socket, connect as connectTcp } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket, connect as connectTls } from "node:tls";
import {
  Capability,
  type Greeting,
  type HandshakeResponse,
  NATIVE_PASSWORD,
  PacketReader,
  handshakeResponsePacket,
  isAuthSwitch,
  isErr,
  isOk,
  nativePasswordResponse,
  parseAuthSwitch,
  parseGreeting,
  tlsRequestPacket,
  writePacket,
} from "./mysql-protocol";

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ServerTls {
  ca: string;
  /** Pinned to the client's: its Ssl_version and Ssl_cipher are then what the client negotiated. */
  protocol?: "TLSv1.2" | "TLSv1.3";
  cipher?: string;
}

/** A TCP connection to the server that has read its greeting (or the ERR it sent instead: too many connections). */
export interface GreetedConnection {
  socket: Socket;
  reader: PacketReader;
  greeting?: Greeting;
  /** The server's refusal before its greeting, as it sent it. */
  refusal?: Buffer;
}

export async function connectToServer(address: ServerAddress, track: <S extends Duplex>(socket: S) => S): Promise<GreetedConnection> {
  const socket = track(connectTcp(address));
  socket.setNoDelay(true);
  const reader = new PacketReader(socket);
  const first = (await reader.next()).payload;
  return isErr(first) ? { socket, reader, refusal: first } : { socket, reader, greeting: parseGreeting(first) };
}

export interface LoggedIn {
  server: Duplex;
  reader: PacketReader;
  /** The server's OK or ERR to the login. */
  answer: Buffer;
}

/** Logs in as `client.user` (its capabilities, database and attributes), with `password`. */
export async function loginToServer(
  connection: GreetedConnection & { greeting: Greeting },
  client: HandshakeResponse,
  password: string,
  address: ServerAddress,
  tls: ServerTls | undefined,
  track: <S extends Duplex>(socket: S) => S,
  untrack: (socket: Duplex) => void,
): Promise<LoggedIn> {
  const { greeting } = connection;
  let server: Duplex = connection.socket;
  let reader = connection.reader;
  let sequence = 0;
  const capabilities = client.capabilities & greeting.capabilities & ~Capability.SSL & ~Capability.COMPRESS;
  const upstream = {
    ...client,
    capabilities,
    authResponse: nativePasswordResponse(password, greeting.scramble),
    authPlugin: NATIVE_PASSWORD,
  };
  if (tls) {
    writePacket(server, ++sequence, tlsRequestPacket(upstream));
    reader.detach();
    untrack(connection.socket);
    const options = {
      socket: connection.socket,
      host: address.host,
      ca: tls.ca,
      minVersion: tls.protocol,
      maxVersion: tls.protocol,
      ciphers: tls.cipher,
    };
    const secure = track(connectTls(options));
    await new Promise<void>((resolve, reject) => secure.once("secureConnect", resolve).once("error", reject));
    server = secure;
    reader = new PacketReader(secure);
  }
  writePacket(
    server,
    ++sequence,
    handshakeResponsePacket({ ...upstream, capabilities: capabilities | (server instanceof TLSSocket ? Capability.SSL : 0) }),
  );
  let answer = await reader.next();
  if (isAuthSwitch(answer.payload)) {
    const { plugin, data } = parseAuthSwitch(answer.payload);
    // Only a user made for the harness (IDENTIFIED BY its password) gets in; any other account is refused.
    if (plugin !== NATIVE_PASSWORD) throw new Error(`backend asked for ${plugin}`);
    writePacket(server, answer.sequence + 1, nativePasswordResponse(password, data));
    answer = await reader.next();
  }
  if (!isOk(answer.payload) && !isErr(answer.payload)) throw new Error("unexpected answer to the backend login");
  return { server, reader, answer: answer.payload };
}
