"""Reference G.722 (64 kbit/s) through spandsp for test/media/g722.test.ts.

Usage: g722_spandsp.py encode|decode  (raw bytes on stdin → raw bytes on stdout)
encode: 16 kHz s16le PCM in, G.722 octets out.  decode: octets in, s16le PCM out.
Exit code 3 if libspandsp is not installed (the test then skips, or fails under CI).
"""
import ctypes
import ctypes.util
import sys


def load():
    for name in ("libspandsp.so.2", ctypes.util.find_library("spandsp")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    return None


lib = load()
if lib is None:
    sys.stderr.write("libspandsp not found\n")
    sys.exit(3)
lib.g722_encode_init.restype = ctypes.c_void_p
lib.g722_encode_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
lib.g722_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
lib.g722_decode_init.restype = ctypes.c_void_p
lib.g722_decode_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
lib.g722_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]

data = sys.stdin.buffer.read()
if sys.argv[1] == "encode":
    n = len(data) // 2
    state = lib.g722_encode_init(None, 64000, 0)
    out = ctypes.create_string_buffer(n)
    k = lib.g722_encode(state, out, data, n)
    sys.stdout.buffer.write(out.raw[:k])
else:
    n = len(data)
    state = lib.g722_decode_init(None, 64000, 0)
    out = ctypes.create_string_buffer(n * 4)
    k = lib.g722_decode(state, out, data, n)
    sys.stdout.buffer.write(out.raw[: k * 2])
