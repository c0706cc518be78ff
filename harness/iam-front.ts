/**
 * A MySQL-protocol front that plays RDS's IAM authentication in front of a MariaDB run by the
 * current user, with no system configuration:
 *
 *   client --TLS--> front (host:port the token is signed for)
 *     greeting, TLS, auth switch to mysql_clear_password, token verified (iam-token.ts)
 *     --TLS when the client used TLS--> MariaDB, logged in as that user with a password only the front knows
 *
 * Then, by default (the direct path), each client session has a server connection of its own and the
 * bytes of both sides are relayed as they are: the server the client sees (connection id, version,
 * capabilities, session state) is MariaDB's. With `multiplex` (RDS Proxy), client sessions share a
 * pool of server connections between transactions (multiplexer.ts).
 *
 * Either way the front records, per client session, every command that would pin it on RDS Proxy
 * (pin-triggers.ts): it reads the client's commands in plaintext after TLS.
 */
import { randomBytes } from "node:crypto";
import { type AddressInfo, type Server, type Socket, createServer } from "node:net";
import type { Duplex } from "node:stream";
import { type SecureContext, TLSSocket } from "node:tls";
import { MultiplexedSession, type MultiplexOptions, ServerPool, ServerRefusal, relay } from "./multiplexer";
import {
  CLEAR_PASSWORD,
  Capability,
  type Greeting,
  type HandshakeResponse,
  MAX_PAYLOAD,
  NATIVE_PASSWORD,
  PacketReader,
  ServerStatus,
  authSwitchPacket,
  errPacket,
  greetingPacket,
  isErr,
  isTlsRequest,
  okPacket,
  parseHandshakeResponse,
  writePacket,
} from "./mysql-protocol";
import { type SessionRecord, recordCommand } from "./pin-triggers";
import { type GreetedConnection, connectToServer, loginToServer } from "./server-login";

export interface FrontOptions {
  host: string;
  port: number;
  backend: { host: string; port: number };
  /** The password every IAM user has on the backend. */
  backendPassword: string;
  /** Offers TLS to clients (and then speaks TLS to the backend too); absent: plain connections only. */
  tls?: { context: SecureContext; ca: string };
  /** Multiplexes client sessions onto a pool of server connections, as RDS Proxy does. @default undefined: one server connection per client session */
  multiplex?: MultiplexOptions;
  /** Throws (with a reason) unless the token lets the user in. */
  verify(token: string, user: string): void;
  onAttempt(user: string, outcome: { accepted: boolean; reason: string }): void;
}

const ER_ACCESS_DENIED = 1045;

/** A client whose token was accepted, at the end of its connection phase. */
interface Authenticated {
  client: Duplex;
  reader: PacketReader;
  response: HandshakeResponse;
  /** Of the client's last packet: the answer to its login takes the next one. */
  sequence: number;
}

export class IamFront {
  private server: Server | undefined;
  private readonly sockets = new Set<Duplex>();
  private frozen = false;
  private readonly records: SessionRecord[] = [];
  private readonly pool: ServerPool | undefined;
  /** The server's greeting shown to every client in multiplexing mode, taken once at listen(). */
  private greeting: Greeting | undefined;
  private nextConnectionId = 1;

  constructor(private readonly options: FrontOptions) {
    this.pool = options.multiplex && new ServerPool(options.multiplex);
  }

  async listen(): Promise<void> {
    if (this.pool) {
      const probe = await connectToServer(this.options.backend, (socket) => this.track(socket));
      probe.socket.destroy();
      if (!probe.greeting) throw new Error(`the server refused the front's first connection: ${probe.refusal?.toString("utf8", 9)}`);
      this.greeting = probe.greeting;
    }
    const server = createServer((socket) => void this.serve(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.options.port;
  }

  /** Every client session since the front started (oldest first), with the pins it would have caused. */
  sessions(): SessionRecord[] {
    return this.records.map((record) => ({ ...record, pins: [...record.pins] }));
  }

  /** Most server connections the multiplexing pool had open at once (undefined on the direct path). */
  get peakServerConnections(): number | undefined {
    return this.pool?.peak;
  }

  /** Stops listening and drops every session, as a stopped server would. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.pool?.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Nothing is read or answered until resume(): connections stay open, like a hung server's. */
  pause(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  resume(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
  }

  /** A socket now wrapped by TLS is paused and resumed through its wrapper only. */
  private wrapped(socket: Duplex): void {
    this.sockets.delete(socket);
  }

  private track<S extends Duplex>(socket: S): S {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (this.frozen) socket.pause();
    return socket;
  }

  private readonly resumable = () => !this.frozen;

  private async serve(raw: Socket): Promise<void> {
    this.track(raw);
    raw.setNoDelay(true);
    if (this.pool) {
      await this.serveMultiplexed(raw, this.pool).catch(() => raw.destroy());
      return;
    }
    let server: GreetedConnection | undefined;
    // Either side closing ends the session, whatever phase it is in.
    raw.once("close", () => server?.socket.destroy());
    try {
      server = await connectToServer(this.options.backend, (socket) => this.track(socket));
      server.socket.once("close", () => raw.destroy());
      if (!server.greeting) {
        // The server refuses before greeting (too many connections): the client hears it as it would from MySQL.
        writePacket(raw, 0, server.refusal!);
        raw.end();
        return;
      }
      const login = await this.authenticate(raw, server.greeting, server.greeting.connectionId);
      if (login) await this.relayToOwnServer(login, { ...server, greeting: server.greeting });
    } catch {
      raw.destroy();
      server?.socket.destroy();
    }
  }

  /** Greeting, TLS, the token as a cleartext password, verified; undefined when refused (the client was told). */
  private async authenticate(raw: Socket, greeting: Greeting, connectionId: number): Promise<Authenticated | undefined> {
    const tls = this.options.tls;
    // MariaDB's own capabilities, less compression; TLS is the front's to offer.
    const capabilities = (greeting.capabilities & ~Capability.COMPRESS & ~Capability.SSL) | (tls ? Capability.SSL : 0);
    writePacket(
      raw,
      0,
      greetingPacket({ ...greeting, connectionId, capabilities, scramble: randomBytes(20), authPlugin: NATIVE_PASSWORD }),
    );

    let client: Duplex = raw;
    let reader = new PacketReader(raw);
    let packet = await reader.next();
    if (tls && isTlsRequest(packet.payload)) {
      // A client starts TLS right after its request: what arrived with it belongs to the TLS handshake.
      // Paused first: unshifted into a flowing socket without listeners, the bytes would be lost.
      raw.pause();
      const early = reader.detach();
      if (early.length > 0) raw.unshift(early);
      this.wrapped(raw);
      const secure = this.track(new TLSSocket(raw, { isServer: true, secureContext: tls.context }));
      await new Promise<void>((resolve, reject) => secure.once("secure", resolve).once("error", reject));
      client = secure;
      reader = new PacketReader(secure);
      packet = await reader.next();
    }
    const response = parseHandshakeResponse(packet.payload);
    let sequence = packet.sequence;
    let token = response.authResponse;
    if (response.authPlugin !== CLEAR_PASSWORD) {
      // As RDS does for IAM users: the token comes as a cleartext password, hence TLS.
      writePacket(client, ++sequence, authSwitchPacket(CLEAR_PASSWORD, Buffer.alloc(0)));
      const answer = await reader.next();
      sequence = answer.sequence;
      token = answer.payload;
    }
    const password = token.toString("utf8").replace(/\0$/, "");
    try {
      this.options.verify(password, response.user);
      this.options.onAttempt(response.user, { accepted: true, reason: "ok" });
    } catch (error) {
      const reason = (error as { reason?: string }).reason ?? "internal-error";
      this.options.onAttempt(response.user, { accepted: false, reason });
      const host = (raw.remoteAddress ?? "localhost").replace(/^::ffff:/, "");
      const message = `Access denied for user '${response.user}'@'${host}' (using password: YES)`;
      writePacket(client, ++sequence, errPacket(ER_ACCESS_DENIED, "28000", message));
      client.end();
      return undefined;
    }
    return { client, reader, response, sequence };
  }

  private newRecord(user: string, client: Duplex): SessionRecord {
    const record: SessionRecord = { id: this.records.length + 1, user, commands: 0, pins: [], closed: false };
    this.records.push(record);
    client.once("close", () => (record.closed = true));
    return record;
  }

  private serverTls(client: Duplex) {
    if (!(client instanceof TLSSocket) || !this.options.tls) return undefined;
    return { ca: this.options.tls.ca, protocol: client.getProtocol() as "TLSv1.2" | "TLSv1.3", cipher: client.getCipher().name };
  }

  /** The direct path: the client's own server session, its bytes relayed both ways, its commands watched. */
  private async relayToOwnServer(login: Authenticated, server: GreetedConnection & { greeting: Greeting }): Promise<void> {
    const { client, response } = login;
    login.reader.detach();
    const track = <S extends Duplex>(socket: S) => this.track(socket);
    const answer = await loginToServer(
      server,
      response,
      this.options.backendPassword,
      this.options.backend,
      this.serverTls(client),
      track,
      (socket) => this.wrapped(socket),
    );
    writePacket(client, login.sequence + 1, answer.answer);
    if (isErr(answer.answer)) {
      client.end();
      answer.server.destroy();
      return;
    }
    const record = this.newRecord(response.user, client);
    watchCommands(client, record);
    const early = answer.reader.detach();
    if (early.length > 0) client.write(early);
    relay(client, answer.server, this.resumable);
    relay(answer.server, client, this.resumable);
  }

  /** RDS Proxy's way: the front answers the login itself; commands borrow pooled server connections. */
  private async serveMultiplexed(raw: Socket, pool: ServerPool): Promise<void> {
    const login = await this.authenticate(raw, this.greeting!, this.nextConnectionId++);
    if (!login) return;
    const { client, response } = login;
    writePacket(client, login.sequence + 1, okPacket(ServerStatus.AUTOCOMMIT));
    const record = this.newRecord(response.user, client);
    const tls = this.options.tls ? { ca: this.options.tls.ca } : undefined;
    const track = <S extends Duplex>(socket: S) => this.track(socket);
    const capabilities = response.capabilities & this.greeting!.capabilities;
    // Server connections serve only clients that logged in alike: same user, database, capabilities, character set.
    const key = [response.user, response.database ?? "", capabilities, response.charset].join("\0");
    const open = async () => {
      const server = await connectToServer(this.options.backend, track);
      if (!server.greeting) {
        server.socket.destroy();
        throw new ServerRefusal(server.refusal!);
      }
      const loggedIn = await loginToServer(
        { ...server, greeting: server.greeting },
        response,
        this.options.backendPassword,
        this.options.backend,
        tls,
        track,
        (socket) => this.wrapped(socket),
      );
      if (isErr(loggedIn.answer)) {
        loggedIn.server.destroy();
        throw new ServerRefusal(loggedIn.answer);
      }
      return { key, server: loggedIn.server, reader: loggedIn.reader, capabilities };
    };
    await new MultiplexedSession(client, login.reader, record, pool, key, open, this.resumable).run();
  }
}

/** Records the pins of each command a relayed client sends (a packet of sequence 0 starts a command). */
function watchCommands(client: Duplex, record: SessionRecord): void {
  let buffered: Buffer = Buffer.alloc(0);
  let command: { first: Buffer; bytes: number } | undefined;
  const finish = () => {
    if (command) recordCommand(record, command.first, command.bytes);
    command = undefined;
  };
  client.on("data", (chunk: Buffer) => {
    buffered = buffered.length > 0 ? Buffer.concat([buffered, chunk]) : chunk;
    while (buffered.length >= 4) {
      const length = buffered.readUIntLE(0, 3);
      if (buffered.length < 4 + length) break;
      const payload = buffered.subarray(4, 4 + length);
      if (buffered[3] === 0) {
        finish();
        command = { first: payload, bytes: 0 };
      }
      if (command) command.bytes += length;
      // A packet shorter than the maximum ends its command's payload.
      if (length < MAX_PAYLOAD) finish();
      buffered = buffered.subarray(4 + length);
    }
  });
}
