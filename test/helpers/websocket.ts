/**
 * A minimal WebSocket (RFC 6455) echo server and client on node:http, enough to prove that a proxy passes the
 * upgrade handshake and frames both ways: text frames up to 64 KiB, no fragmentation, no extensions.
 */
import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { Duplex } from "node:stream";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const accept = (key: string) =>
  createHash("sha1")
    .update(key + GUID)
    .digest("base64");

/** Encode one text frame; clients must mask, servers must not (RFC 6455 5.1). */
function encode(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text, "utf8");
  if (payload.length > 0xffff) throw new Error("frames over 64 KiB are not supported by this helper");
  const head = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  if (!mask) return Buffer.concat([head, payload]);
  head[1] |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([head, key, masked]);
}

/** Decode frames from a buffer; returns complete frames and the unconsumed rest. */
function decode(buf: Buffer): { frames: { opcode: number; text: string }[]; rest: Buffer } {
  const frames: { opcode: number; text: string }[] = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const opcode = buf[off] & 0x0f;
    const masked = (buf[off + 1] & 0x80) !== 0;
    let len = buf[off + 1] & 0x7f;
    let p = off + 2;
    if (len === 126) {
      if (buf.length - p < 2) break;
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      throw new Error("64-bit frame lengths are not supported by this helper");
    }
    const keyLen = masked ? 4 : 0;
    if (buf.length - p < keyLen + len) break;
    const key = buf.subarray(p, p + keyLen);
    const data = Buffer.from(buf.subarray(p + keyLen, p + keyLen + len));
    if (masked) for (let i = 0; i < data.length; i++) data[i] ^= key[i % 4];
    frames.push({ opcode, text: data.toString("utf8") });
    off = p + keyLen + len;
  }
  return { frames, rest: buf.subarray(off) };
}

export interface EchoServer {
  server: http.Server;
  /** Request headers of every upgrade request received, in order. */
  upgrades: { url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A WebSocket echo server on 127.0.0.1:port; it answers each text frame with `echo:<text>`. */
export async function startEchoServer(port: number): Promise<EchoServer> {
  const upgrades: EchoServer["upgrades"] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket only\n");
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
    upgrades.push({ url: req.url ?? "", headers: req.headers });
    const key = req.headers["sec-websocket-key"];
    if (typeof key !== "string" || req.headers.upgrade?.toLowerCase() !== "websocket") {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => sockets.delete(socket));
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n\r\n`);
    let buf: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      const { frames, rest } = decode(Buffer.concat([buf, chunk]));
      buf = rest;
      for (const f of frames) {
        if (f.opcode === 0x8) socket.end(Buffer.from([0x88, 0]));
        else if (f.opcode === 0x1) socket.write(encode(`echo:${f.text}`, false));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    server,
    upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface WsExchange {
  /** Status and headers of the handshake response. */
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The text frames received in reply to each message sent. */
  replies: string[];
}

/**
 * Connect to ws(s)://host:port/path (Host header `host`), send each message as a text frame, collect one reply
 * per message, close. Rejects when the handshake is not a 101 with the right Sec-WebSocket-Accept.
 */
export function wsExchange(opts: { port: number; path: string; host: string; messages: string[]; secure?: boolean; timeoutMs?: number }): Promise<WsExchange> {
  const key = randomBytes(16).toString("base64");
  const mod = opts.secure ? https : http;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no WebSocket reply within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000);
    const req = mod.request({
      host: "127.0.0.1",
      port: opts.port,
      path: opts.path,
      servername: opts.secure ? opts.host : undefined,
      rejectUnauthorized: false,
      headers: { Host: opts.host, Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key },
    });
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on("response", (res) => {
      clearTimeout(timer);
      reject(new Error(`expected 101 Switching Protocols, got ${res.statusCode}`));
      res.resume();
    });
    req.on("upgrade", (res, socket, head) => {
      // The server may reset the connection after our close frame (TLS especially): an error after the replies
      // arrived settles nothing, and without a listener it would be an uncaught exception of the test run.
      socket.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      if (res.headers["sec-websocket-accept"] !== accept(key)) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`bad Sec-WebSocket-Accept ${res.headers["sec-websocket-accept"]}`));
        return;
      }
      const replies: string[] = [];
      let buf: Buffer = Buffer.from(head);
      const onFrames = () => {
        const { frames, rest } = decode(buf);
        buf = rest;
        for (const f of frames) if (f.opcode === 0x1) replies.push(f.text);
        if (replies.length >= opts.messages.length) {
          clearTimeout(timer);
          socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
          resolve({ status: res.statusCode ?? 0, headers: res.headers, replies });
        }
      };
      socket.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        onFrames();
      });
      for (const m of opts.messages) socket.write(encode(m, true));
      onFrames();
    });
    req.end();
  });
}
