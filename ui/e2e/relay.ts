// Starts a real `anchordesk-relay` process for browser tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const WORKSPACE = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(WORKSPACE, 'target/test-artifacts');

export interface Relay {
  url: string;
  /// Publish keys of the streams asked for, by name.
  keys: Record<string, string>;
  /// With `demo`: the seeded live's id and the owner's password (user `owner`).
  demo?: { liveId: number; password: string };
  stop: () => Promise<void>;
}

const RELAY_BIN = process.env.ANCHORDESK_RELAY_BIN ?? join(WORKSPACE, 'target/debug/anchordesk-relay');

/// Creates a stream with the relay's CLI and returns its key (printed once, on a `key:` line).
function createStream(dataDir: string, name: string): string {
  const out = execFileSync(RELAY_BIN, ['stream', 'create', name, '--data-dir', dataDir], { encoding: 'utf8' });
  const key = /^key:\s+(\S+)/m.exec(out)?.[1];
  if (!key) throw new Error(`no key in: ${out}`);
  return key;
}

/// A relay on loopback with a fresh data directory; `demo` seeds the demo shop (12 products in its
/// live's 小黄车, on the stream `demo`) first.
export async function startRelay(
  options: { streams?: string[]; demo?: boolean; args?: string[]; env?: Record<string, string> } = {},
): Promise<Relay> {
  const bin = RELAY_BIN;
  const dataDir = mkdtempSync(join(tmpdir(), 'anchordesk-e2e-'));
  let demo: Relay['demo'];
  if (options.demo) {
    const password = 'e2e-owner-password';
    const out = execFileSync(RELAY_BIN, ['demo', 'seed', '--data-dir', dataDir], {
      encoding: 'utf8',
      env: { ...process.env, ANCHORDESK_PASSWORD: password },
    });
    const liveId = Number(/ live (\d+) /.exec(out)?.[1]);
    if (!liveId) throw new Error(`no live in: ${out}`);
    demo = { liveId, password };
  }
  const keys: Record<string, string> = {};
  for (const name of options.streams ?? []) keys[name] = createStream(dataDir, name);
  const child: ChildProcess = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ANCHORDESK_LISTEN: undefined, ANCHORDESK_CONFIG: undefined, ...options.env },
  });
  const url = await new Promise<string>((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`relay exited with ${code} before listening`)));
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const prefix = 'anchordesk-relay listening on ';
      if (line.startsWith(prefix)) ok(line.slice(prefix.length));
      else fail(new Error(`unexpected relay output: ${line}`));
    });
  });
  return {
    url,
    keys,
    demo,
    stop: async () => {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
