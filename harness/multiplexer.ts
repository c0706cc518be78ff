/**
 * The front's multiplexing mode, as RDS Proxy behaves: a pool of at most N server connections shared
 * by every client session, lent for one command and taken back when the server's answer says the
 * session is outside a transaction (status flag SERVER_STATUS_IN_TRANS clear). A client waits at
 * most the borrow timeout for a connection, then hears the proxy's error 9501 and may try again on
 * the same session. A session that pins (pin-triggers.ts) keeps its connection until it ends, and
 * the connection is closed with it, since it carries that session's state.
 */
import type { Duplex } from "node:stream";
import {
  Capability,
  Command,
  MAX_PAYLOAD,
  type Packet,
  type PacketReader,
  ServerStatus,
  errPacket,
  isEndOfRows,
  isErr,
  isOk,
  readLengthEncoded,
  statusFlags,
  writePacket,
} from "./mysql-protocol";
import { type SessionRecord, recordCommand } from "./pin-triggers";
import { PROXY_BORROW_TIMEOUT_SECONDS, PROXY_MAX_CONNECTIONS_PERCENT } from "../src/database/database-proxy";

/** RDS Proxy's error when no connection came free within the borrow timeout. */
export const BORROW_TIMEOUT_ERRNO = 9501;
export const BORROW_TIMEOUT_MESSAGE = "Timed-out waiting to acquire database connection";

export interface MultiplexOptions {
  /** Server connections in the pool (RDS Proxy: max_connections x MaxConnectionsPercent). */
  connections: number;
  /** How long a command waits for a connection (RDS Proxy: ConnectionBorrowTimeout). */
  borrowTimeoutMs: number;
}

/** The pool this project's RDS Proxy keeps in front of a server with `maxConnections` (src/database/database-proxy.ts). */
export const projectProxyPool = (maxConnections: number): MultiplexOptions => ({
  connections: Math.floor((maxConnections * PROXY_MAX_CONNECTIONS_PERCENT) / 100),
  borrowTimeoutMs: PROXY_BORROW_TIMEOUT_SECONDS * 1000,
});

/** A logged-in server connection; `key` names the login (user, database, capabilities, charset) it can serve. */
export interface ServerConnection {
  key: string;
  server: Duplex;
  reader: PacketReader;
  /** What client and server negotiated: whether result sets end with EOF or OK. */
  capabilities: number;
}

/** Thrown by an `open` the server refused: its ERR packet goes to the client as it is. */
export class ServerRefusal extends Error {
  constructor(readonly packet: Buffer) {
    super(packet.toString("utf8", 9));
  }
}

interface Waiter {
  key: string;
  open: () => Promise<ServerConnection>;
  settle: (connection: ServerConnection | undefined, error?: unknown) => void;
  expired: boolean;
}

/** At most `size` server connections, opened when needed and kept while the server keeps them. */
export class ServerPool {
  private readonly idle: ServerConnection[] = [];
  private readonly live = new Set<ServerConnection>();
  private readonly waiting: Waiter[] = [];
  /** Connections open or being opened. */
  private count = 0;
  /** Most server connections at once since the pool started. */
  peak = 0;
  private closed = false;

  constructor(private readonly options: MultiplexOptions) {}

  /** A connection for `key`, or undefined once the borrow timeout passed; rejects when opening one failed. */
  borrow(key: string, open: () => Promise<ServerConnection>): Promise<ServerConnection | undefined> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        key,
        open,
        expired: false,
        settle: (connection, error) => {
          clearTimeout(timer);
          if (waiter.expired) {
            if (connection) this.release(connection);
          } else if (connection) resolve(connection);
          else reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.expired = true;
        const queued = this.waiting.indexOf(waiter);
        if (queued >= 0) this.waiting.splice(queued, 1);
        resolve(undefined);
      }, this.options.borrowTimeoutMs);
      this.waiting.push(waiter);
      this.dispatch();
    });
  }

  /** Back to the pool: the session is outside a transaction and did not pin. */
  release(connection: ServerConnection): void {
    if (!this.live.has(connection)) return;
    if (this.closed) {
      this.discard(connection);
      return;
    }
    this.idle.push(connection);
    this.dispatch();
  }

  /** Closes a connection whose session state must not reach another client (or that broke). */
  discard(connection: ServerConnection): void {
    if (!this.live.delete(connection)) return;
    const idle = this.idle.indexOf(connection);
    if (idle >= 0) this.idle.splice(idle, 1);
    connection.server.destroy();
    this.count--;
    this.dispatch();
  }

  close(): void {
    this.closed = true;
    for (const connection of [...this.live]) this.discard(connection);
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const waiter = this.waiting[0];
      const idle = this.idle.findIndex((connection) => connection.key === waiter.key);
      if (idle >= 0) {
        this.waiting.shift();
        waiter.settle(this.idle.splice(idle, 1)[0]);
      } else if (this.count < this.options.connections) {
        this.waiting.shift();
        this.openFor(waiter);
      } else if (this.idle.length > 0) {
        // Full, but an idle connection serves another login: it makes room.
        this.discard(this.idle[0]);
      } else {
        return;
      }
    }
  }

  private openFor(waiter: Waiter): void {
    this.count++;
    this.peak = Math.max(this.peak, this.count);
    waiter.open().then(
      (connection) => {
        this.live.add(connection);
        // The server may close an idle connection (wait_timeout, restart): it leaves the pool.
        connection.server.once("close", () => this.discard(connection));
        waiter.settle(connection);
      },
      (error) => {
        this.count--;
        waiter.settle(undefined, error);
        this.dispatch();
      },
    );
  }
}

interface ClientCommand {
  packets: Packet[];
  /** The payload of its first packet: command byte and, for COM_QUERY, the statement. */
  first: Buffer;
  bytes: number;
}

/** Copies bytes one way with backpressure; `resumable` says whether a paused source may flow again. */
export function relay(from: Duplex, to: Duplex, resumable: () => boolean = () => true): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => {
    if (resumable()) from.resume();
  });
  from.once("close", () => to.destroy());
}

/** One client session in multiplexing mode, from its first command to its end. */
export class MultiplexedSession {
  private held: ServerConnection | undefined;
  private inTransaction = false;
  private ended = false;

  constructor(
    private readonly client: Duplex,
    private readonly reader: PacketReader,
    private readonly record: SessionRecord,
    private readonly pool: ServerPool,
    private readonly key: string,
    private readonly open: () => Promise<ServerConnection>,
    private readonly resumable: () => boolean,
  ) {
    client.once("close", () => {
      this.ended = true;
      // Mid-command or mid-transaction, the connection's state is this session's: it is not lent again.
      if (this.held) this.pool.discard(this.held);
    });
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        const command = await this.readCommand();
        const pins = recordCommand(this.record, command.first, command.bytes);
        if (command.first[0] === Command.QUIT) {
          this.client.end();
          return;
        }
        if (!(await this.borrow(command))) continue;
        if (this.ended) return;
        const held = this.held!;
        for (const packet of command.packets) writePacket(held.server, packet.sequence, packet.payload);
        if (pins.length > 0) return this.keepForGood(held);
        const status = await this.relayAnswer(held, command.first[0]);
        // An ERR carries no status: the session stays where it was (most errors leave a transaction open).
        if (status !== undefined) this.inTransaction = (status & ServerStatus.IN_TRANS) !== 0;
        if (!this.inTransaction) {
          this.held = undefined;
          this.pool.release(held);
        }
      }
    } catch {
      this.client.destroy();
    }
  }

  /** Holds a connection for the command; false when none came in time or the server refused (the client was told). */
  private async borrow(command: ClientCommand): Promise<boolean> {
    if (this.held) return true;
    const answer = (payload: Buffer) => writePacket(this.client, command.packets[0].sequence + 1, payload);
    try {
      this.held = await this.pool.borrow(this.key, this.open);
    } catch (error) {
      if (!(error instanceof ServerRefusal)) throw error;
      answer(error.packet);
      return false;
    }
    if (this.held && this.ended) {
      this.pool.release(this.held);
      this.held = undefined;
    }
    if (!this.held) answer(errPacket(BORROW_TIMEOUT_ERRNO, "HY000", BORROW_TIMEOUT_MESSAGE));
    return this.held !== undefined;
  }

  /** A command packet, with the packets that continue it when it is 16 MB or longer. */
  private async readCommand(): Promise<ClientCommand> {
    const packets = [await this.reader.next()];
    while (packets[packets.length - 1].payload.length === MAX_PAYLOAD) packets.push(await this.reader.next());
    return { packets, first: packets[0].payload, bytes: packets.reduce((sum, packet) => sum + packet.payload.length, 0) };
  }

  /** Relays the server's whole answer to one command; its final status flags, or undefined after an ERR. */
  private async relayAnswer(held: ServerConnection, command: number): Promise<number | undefined> {
    const next = async () => {
      const packet = await held.reader.next();
      writePacket(this.client, packet.sequence, packet.payload);
      return packet.payload;
    };
    if (command !== Command.QUERY) {
      // COM_PING: one OK or ERR.
      const answer = await next();
      return isOk(answer) ? statusFlags(answer) : undefined;
    }
    for (;;) {
      let packet = await next();
      if (isErr(packet)) return undefined;
      if (!isOk(packet)) {
        if (packet[0] === 0xfb) throw new Error("LOCAL INFILE is not relayed by the multiplexing front");
        // A result set: its column count, the column definitions, (EOF,) rows, and EOF or OK.
        const [columns] = readLengthEncoded(packet, 0);
        for (let i = 0; i < columns; i++) await next();
        if (!(held.capabilities & Capability.DEPRECATE_EOF)) await next();
        do packet = await next();
        while (!isEndOfRows(packet) && !isErr(packet));
        if (isErr(packet)) return undefined;
      }
      const status = statusFlags(packet);
      if (!(status & ServerStatus.MORE_RESULTS_EXISTS)) return status;
    }
  }

  /** From a pin on, the session and its connection are one: bytes relayed as they are until either side closes. */
  private keepForGood(held: ServerConnection): void {
    const fromClient = this.reader.detach();
    if (fromClient.length > 0) held.server.write(fromClient);
    const fromServer = held.reader.detach();
    if (fromServer.length > 0) this.client.write(fromServer);
    relay(this.client, held.server, this.resumable);
    relay(held.server, this.client, this.resumable);
  }
}
