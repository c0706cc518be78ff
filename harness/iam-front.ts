/**
 * A MySQL-protocol front that plays RDS's IAM authentication in front of a MariaDB run by the
 * current user, with no system configuration:
 *
 *   client --TLS--> front (host:port the token is signed for)
 *     greeting, TLS, auth switch to mysql_clear_password, token verified (iam-token.ts)
 *     --TLS when the client used TLS--> MariaDB, logged in as that user with a password only the front knows
 *     --> from then on the bytes of both sides are relayed as they are
 *
 * The server the client sees (connection id, version, capabilities, session state) is MariaDB's.
 */
import { randomBytes } from "node:crypto";
import { type AddressInfo, type Server, type Socket, connect as connectTcp, createServer } from "node:net";
import { type SecureContext, TLSSocket, connect as connectTls } from "node:tls";
import type { Duplex } from "node:stream";
import {
  CLEAR_PASSWORD,
  Capability,
  NATIVE_PASSWORD,
  PacketReader,
  authSwitchPacket,
  errPacket,
  greetingPacket,
  handshakeResponsePacket,
  isAuthSwitch,
  isErr,
  isOk,
  isTlsRequest,
  nativePasswordResponse,
  parseAuthSwitch,
  parseGreeting,
  parseHandshakeResponse,
  tlsRequestPacket,
  writePacket,
} from "./mysql-protocol";

export interface FrontOptions {
  host: string;
  port: number;
  backend: { host: string; port: number };
  /** The password every IAM user has on the backend. */
  backendPassword: string;
  /** Offers TLS to clients (and then speaks TLS to the backend too); absent: plain connections only. */
  tls?: { context: SecureContext; ca: string };
  /** Throws (with a reason) unless the token lets the user in. */
  verify(token: string, user: string): void;
  onAttempt(user: string, outcome: { accepted: boolean; reason: string }): void;
}

const ER_ACCESS_DENIED = 1045;

/** What a login needs to reach the backend after the token was accepted. */
interface Login {
  client: Duplex;
  sequence: number;
  response: ReturnType<typeof parseHandshakeResponse>;
  backend: Socket;
  backendReader: PacketReader;
  greeting: ReturnType<typeof parseGreeting>;
}

export class IamFront {
  private server: Server | undefined;
  private readonly sockets = new Set<Duplex>();
  private frozen = false;

  constructor(private readonly options: FrontOptions) {}

  listen(): Promise<void> {
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

  /** Stops listening and drops every session, as a stopped server would. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
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

  private async serve(raw: Socket): Promise<void> {
    this.track(raw);
    raw.setNoDelay(true);
    const backend = this.track(connectTcp(this.options.backend));
    backend.setNoDelay(true);
    // Either side closing ends the session, whatever phase it is in.
    raw.once("close", () => backend.destroy());
    backend.once("close", () => raw.destroy());
    try {
      await this.login(raw, backend);
    } catch {
      raw.destroy();
      backend.destroy();
    }
  }

  private async login(raw: Socket, backend: Socket): Promise<void> {
    const backendReader = new PacketReader(backend);
    const first = (await backendReader.next()).payload;
    if (isErr(first)) {
      // The server refuses before greeting (too many connections): the client hears it as it would from MySQL.
      writePacket(raw, 0, first);
      raw.end();
      return;
    }
    const greeting = parseGreeting(first);
    const tls = this.options.tls;
    // MariaDB's own capabilities, less compression; TLS is the front's to offer.
    const capabilities = (greeting.capabilities & ~Capability.COMPRESS & ~Capability.SSL) | (tls ? Capability.SSL : 0);
    writePacket(raw, 0, greetingPacket({ ...greeting, capabilities, scramble: randomBytes(20), authPlugin: NATIVE_PASSWORD }));

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
    reader.detach();
    const password = token.toString("utf8").replace(/\0$/, "");
    try {
      this.options.verify(password, response.user);
      this.options.onAttempt(response.user, { accepted: true, reason: "ok" });
    } catch (error) {
      const reason = (error as { reason?: string }).reason ?? "internal-error";
      this.options.onAttempt(response.user, { accepted: false, reason });
      const host = (raw.remoteAddress ?? "localhost").replace(/^::ffff:/, "");
      writePacket(
        client,
        ++sequence,
        errPacket(ER_ACCESS_DENIED, "28000", `Access denied for user '${response.user}'@'${host}' (using password: YES)`),
      );
      client.end();
      return;
    }
    await this.loginToBackend({ client, sequence, response, backend, backendReader, greeting });
  }

  private async loginToBackend(login: Login): Promise<void> {
    const { client, response, greeting } = login;
    let backend: Duplex = login.backend;
    let reader = login.backendReader;
    let sequence = 0;
    const capabilities = response.capabilities & greeting.capabilities & ~Capability.SSL & ~Capability.COMPRESS;
    const upstream = {
      ...response,
      capabilities,
      authResponse: nativePasswordResponse(this.options.backendPassword, greeting.scramble),
      authPlugin: NATIVE_PASSWORD,
    };
    if (client instanceof TLSSocket && this.options.tls) {
      // The backend session uses what the client negotiated, so its Ssl_version and Ssl_cipher are the client's.
      writePacket(backend, ++sequence, tlsRequestPacket(upstream));
      reader.detach();
      this.wrapped(login.backend);
      const { name } = client.getCipher();
      const protocol = client.getProtocol() as "TLSv1.2" | "TLSv1.3";
      const secure = this.track(
        connectTls({
          socket: login.backend,
          host: this.options.backend.host,
          ca: this.options.tls.ca,
          minVersion: protocol,
          maxVersion: protocol,
          ciphers: name,
        }),
      );
      await new Promise<void>((resolve, reject) => secure.once("secureConnect", resolve).once("error", reject));
      backend = secure;
      reader = new PacketReader(secure);
    }
    writePacket(
      backend,
      ++sequence,
      handshakeResponsePacket({ ...upstream, capabilities: capabilities | (backend instanceof TLSSocket ? Capability.SSL : 0) }),
    );
    let answer = await reader.next();
    if (isAuthSwitch(answer.payload)) {
      const { plugin, data } = parseAuthSwitch(answer.payload);
      // Only a user made for the harness (IDENTIFIED BY its password) gets in; any other account is refused.
      if (plugin !== NATIVE_PASSWORD) throw new Error(`backend asked for ${plugin}`);
      writePacket(backend, answer.sequence + 1, nativePasswordResponse(this.options.backendPassword, data));
      answer = await reader.next();
    }
    if (!isOk(answer.payload) && !isErr(answer.payload)) throw new Error("unexpected answer to the backend login");
    writePacket(client, login.sequence + 1, answer.payload);
    if (isErr(answer.payload)) {
      client.end();
      backend.destroy();
      return;
    }
    const early = reader.detach();
    if (early.length > 0) client.write(early);
    this.relay(client, backend);
    this.relay(backend, client);
  }

  /** Copies bytes one way, holding them while the front is paused or the other side is full. */
  private relay(from: Duplex, to: Duplex): void {
    from.on("data", (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on("drain", () => {
      if (!this.frozen) from.resume();
    });
    from.once("close", () => to.destroy());
  }
}
